using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

public class KnownEntryTests
{
    [TestCase("Dr.Lee@Endo.Example", "dr.lee@endo.example")]
    [TestCase("  lab@crown.example ", "lab@crown.example")]
    [TestCase("@Crown.Example", "@crown.example")]
    [TestCase("@spécialiste.example", "@xn--spcialiste-c7a.example")]
    [TestCase("x@spécialiste.example", "x@xn--spcialiste-c7a.example")]
    public void Normalize_AddressOrDomain_LowerCaseAsciiForm(string text, string expected) =>
        Assert.That(KnownEntry.Normalize(text), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("@")]
    [TestCase("crown.example")] // a domain needs its @, so an address without one is never taken for a domain
    [TestCase("lab@")]
    [TestCase("@nodot")]
    [TestCase("a b@crown.example")]
    public void Normalize_NeitherAddressNorDomain_IsNull(string text) => Assert.That(KnownEntry.Normalize(text), Is.Null);

    [Test]
    public void IsDomain_OnlyForAnAtDomainEntry()
    {
        Assert.That(new KnownEntry("@crown.example", KnownSources.It, DateTimeOffset.UnixEpoch, null).IsDomain, Is.True);
        Assert.That(new KnownEntry("lab@crown.example", KnownSources.It, DateTimeOffset.UnixEpoch, null).IsDomain, Is.False);
    }
}
