using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

public class DomainSimilarityTests
{
    [TestCase("endo-specialists.example", "endo-specialists.example", 0)]
    [TestCase("endo-specialsts.example", "endo-specialists.example", 1)] // a letter left out
    [TestCase("endo-specialitss.example", "endo-specialists.example", 1)] // two letters swapped
    [TestCase("endo-spexialists.example", "endo-specialists.example", 1)] // a wrong letter
    [TestCase("endo-specialistss.example", "endo-specialists.example", 1)] // one too many
    [TestCase("ednospecialists.example", "endo-specialists.example", 2)]
    [TestCase("abc", "cba", 2)]
    [TestCase("", "ab", 2)]
    public void Distance_TyposWithinTheLimit_CountEachEditOnce(string a, string b, int expected)
    {
        Assert.That(DomainSimilarity.Distance(a, b, 2), Is.EqualTo(expected));
        Assert.That(DomainSimilarity.Distance(b, a, 2), Is.EqualTo(expected), "the distance is symmetric");
    }

    [TestCase("specialist.example", "laboratory.example")]
    [TestCase("a.example", "abcd.example")] // lengths alone say more than two
    [TestCase("dental-one.example", "dental-two.example")]
    public void Distance_BeyondTheLimit_IsTheLimitPlusOne(string a, string b) =>
        Assert.That(DomainSimilarity.Distance(a, b, 2), Is.EqualTo(3));

    [Test]
    public void Distance_ATranspositionIsOneEditNotTwo() =>
        Assert.That(DomainSimilarity.Distance("ab.example", "ba.example", 1), Is.EqualTo(1));

    [TestCase("dentaicare.example", "dentalcare.example")] // I (lower-cased i) for l
    [TestCase("denta1care.example", "dentalcare.example")] // digit one for l
    [TestCase("smi1e-dental.example", "smile-dental.example")]
    [TestCase("rnolar.example", "molar.example")] // rn for m
    [TestCase("vvhite.example", "white.example")] // vv for w
    [TestCase("xn--dntalcare-g0h.example", "dentalcare.example")] // Cyrillic е (punycode), read in Unicode
    [TestCase("dentalcаre.example", "dentalcare.example")] // Cyrillic а as typed
    [TestCase("déntalcare.example", "dentalcare.example")] // an accent
    [TestCase("0rtho.example", "ortho.example")] // zero for o
    [TestCase("straße-dental.example", "strase-dental.example")] // the first of the accented letters
    [TestCase("clentalcare.example", "dentalcare.example")] // cl for d
    public void Skeleton_LookAlikeCharacters_ReadAsTheSameDomain(string lookalike, string genuine)
    {
        var ascii = GuardAddress.NormalizeDomain(lookalike)!;
        Assert.That(ascii, Is.Not.EqualTo(genuine), "the domains differ");
        Assert.That(DomainSimilarity.Skeleton(ascii), Is.EqualTo(DomainSimilarity.Skeleton(genuine)));
    }

    [TestCase("dentalcare.example", "dentalcore.example")]
    [TestCase("ortho.example", "orthodontics.example")]
    public void Skeleton_DifferentLetters_StayDifferent(string a, string b) =>
        Assert.That(DomainSimilarity.Skeleton(a), Is.Not.EqualTo(DomainSimilarity.Skeleton(b)));

    [TestCase("Specialist.Example.", "specialist.example")]
    [TestCase("spécialiste.example", "xn--spcialiste-c7a.example")]
    public void NormalizeDomain_CaseDotAndUnicode_GiveTheAsciiForm(string input, string expected) =>
        Assert.That(GuardAddress.NormalizeDomain(input), Is.EqualTo(expected));

    [TestCase("")]
    [TestCase("nodot")]
    [TestCase("a@b.example")]
    [TestCase("bad_label!.example")]
    [TestCase("a123456789012345678901234567890123456789012345678901234567890.b123456789012345678901234567890123456789012345678901234567890.c123456789012345678901234567890123456789012345678901234567890.d123456789012345678901234567890123456789012345678901234567890.example")]
    public void NormalizeDomain_NotADomain_IsNull(string input) => Assert.That(GuardAddress.NormalizeDomain(input), Is.Null);

    [Test]
    public void NormalizeDomain_NoDomainAtAll_IsNull() => Assert.That(GuardAddress.NormalizeDomain(null), Is.Null);

    [Test]
    public void NormalizeDomain_SpacesAround_Trimmed() =>
        Assert.That(GuardAddress.NormalizeDomain("  crown-lab.example \t"), Is.EqualTo("crown-lab.example"));

    [Test]
    public void NormalizeDomain_TheLongestDomainName_KeptOneLongerIsNull()
    {
        // 253 characters is the longest name DNS carries (RFC 1035, without the root's dot).
        var longest = new string('a', 63) + "." + new string('b', 63) + "." + new string('c', 63) + "." + new string('d', 53) + ".example";
        Assert.That(longest.Length, Is.EqualTo(253));
        Assert.That(GuardAddress.NormalizeDomain(longest), Is.EqualTo(longest));
        Assert.That(GuardAddress.NormalizeDomain("e" + longest), Is.Null);
    }

    [Test]
    public void Skeleton_AnXnLabelThatIsNotPunycode_ComparedAsWritten() =>
        Assert.That(DomainSimilarity.Skeleton("xn--99999999999.example"), Is.EqualTo("xn--99999999999.example"));

    [TestCase("@crown.example")]
    [TestCase("lab@")]
    [TestCase("lab@nodot")]
    [TestCase("no-at-sign")]
    public void Split_NotAnAddressWithADomain_IsNull(string address) => Assert.That(GuardAddress.Split(address), Is.Null);

    [Test]
    public void Split_Address_LowerCaseLocalAndAsciiDomain() =>
        Assert.That(GuardAddress.Split("Dr.Lee@Spécialiste.Example"), Is.EqualTo(("dr.lee", "xn--spcialiste-c7a.example")));

    [Test]
    public void NormalizeName_OnlyPunctuation_IsNoName() =>
        Assert.That(new GuardKnowledge([], [], [("a@b.example", "...")]).AddressesNamed("..."), Is.Empty);
}
