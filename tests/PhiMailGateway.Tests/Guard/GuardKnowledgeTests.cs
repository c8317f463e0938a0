using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

/// <summary>The knowledge grown by newly delivered addresses answers as one built with them all, and the one it grew from stays as it was.</summary>
public class GuardKnowledgeTests
{
    private static readonly string[] Before = ["dr.lee@endo.example", "office@crown-lab.example"];
    private static readonly (string, string)[] NamesBefore = [("dr.lee@endo.example", "Dr. Amy Lee")];
    private static readonly string[] New = ["Dr.Lee@Perio.example", "lab@crown-lab.example", "amy.b12@gmail.com"];
    private static readonly (string, string)[] NewNames = [("Dr.Lee@Perio.example", "Dr. Amy Lee"), ("lab@crown-lab.example", "Crown Lab")];

    private static GuardKnowledge Basis() => new(Before, ["smiledental.example"], NamesBefore);

    [Test]
    public void Adding_AddressesAndNames_AnswersAsAKnowledgeBuiltWithThemAll()
    {
        var grown = Basis().Adding(New, NewNames);
        var whole = new GuardKnowledge(Before.Concat(New), ["smiledental.example"], NamesBefore.Concat(NewNames));

        Assert.That(grown.KnownDomains, Is.EqualTo(whole.KnownDomains), "perio.example and gmail.com are new domains");
        Assert.That(grown.AddressesWithLocalPart("dr.lee"), Is.EquivalentTo(whole.AddressesWithLocalPart("dr.lee")));
        Assert.That(grown.AddressesWithLocalPart("dr.lee"), Is.EquivalentTo(new[] { "dr.lee@endo.example", "dr.lee@perio.example" }));
        Assert.That(grown.AddressesNamed("dr amy lee"), Is.EquivalentTo(whole.AddressesNamed("dr amy lee")));
        Assert.That(grown.AddressesNamed("crown lab"), Is.EqualTo(new[] { "lab@crown-lab.example" }));
        Assert.That(grown.IsKnownAddress("amy.b12", "gmail.com"), Is.True);
        Assert.That(grown.DomainsWithSkeleton(DomainSimilarity.Skeleton("perio.example")), Is.EqualTo(new[] { "perio.example" }), "look-alike table rebuilt for the new domain");
        Assert.That(grown.IsVouchedDomain("smiledental.example"), Is.True);
    }

    [Test]
    public void Adding_ADomainThatLooksLikeAKnownOne_JoinsItsLookalikeGroup()
    {
        var grown = Basis().Adding(["cases@crown-1ab.example", "team@smiledental.example"], []);
        var whole = new GuardKnowledge(Before.Append("cases@crown-1ab.example").Append("team@smiledental.example"), ["smiledental.example"], NamesBefore);
        var skeleton = DomainSimilarity.Skeleton("crown-lab.example");

        Assert.That(grown.DomainsWithSkeleton(skeleton), Is.EquivalentTo(new[] { "crown-lab.example", "crown-1ab.example" }));
        Assert.That(grown.DomainsWithSkeleton(skeleton), Is.EquivalentTo(whole.DomainsWithSkeleton(skeleton)));
        Assert.That(grown.KnownDomains, Is.EqualTo(whole.KnownDomains), "the vouched practice domain is listed once");
    }

    [Test]
    public void Adding_OnlyKnownDomains_KeepsTheLookalikeTables()
    {
        var basis = Basis();
        var grown = basis.Adding(["cases@crown-lab.example"], []);
        Assert.That(grown.KnownDomains, Is.SameAs(basis.KnownDomains), "no new domain, nothing to compare against anew");
        Assert.That(grown.IsKnownAddress("cases", "crown-lab.example"), Is.True);
    }

    [Test]
    public void Adding_TheKnowledgeItGrewFrom_StaysAsItWas()
    {
        var basis = Basis();
        basis.Adding(New, NewNames);

        Assert.That(basis.IsKnownAddress("dr.lee", "perio.example"), Is.False);
        Assert.That(basis.AddressesWithLocalPart("dr.lee"), Is.EqualTo(new[] { "dr.lee@endo.example" }), "another message may be reading the older knowledge");
        Assert.That(basis.AddressesNamed("dr amy lee"), Is.EqualTo(new[] { "dr.lee@endo.example" }));
        Assert.That(basis.KnownDomains, Does.Not.Contain("perio.example"));
        Assert.That(basis.DomainsWithSkeleton(DomainSimilarity.Skeleton("perio.example")), Is.Empty);
    }

    [Test]
    public void KnownDomains_AreTheHistorysAndTheVouchedFor_EachOnce()
    {
        var knowledge = new GuardKnowledge(["dr.lee@endo.example", "team@smiledental.example"], ["smiledental.example", "crown-lab.example"], []);

        Assert.That(knowledge.KnownDomains, Is.EqualTo(new[] { "crown-lab.example", "endo.example", "smiledental.example" }));
    }
}
