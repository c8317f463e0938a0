using System.Security.Cryptography.X509Certificates;
using MimeKit;
using CertificateNotFoundException = MimeKit.Cryptography.CertificateNotFoundException;
using PhiMailGateway.Certificates;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Tests.TestKit;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace PhiMailGateway.Tests.Protection.Smime;

/// <summary>Which recipient certificates count as usable, and the reason for those that do not.</summary>
public class GatewaySecureMimeContextTests
{
    private const string Address = "dr.lee@specialist.example";

    internal static BcCertificate Bc(X509Certificate2 certificate) => new(certificate.RawData);

    private static StoredCertificate Stored(X509Certificate2 certificate, string address = Address) =>
        new(CertificateFacts.Thumbprint(Bc(certificate)), Bc(certificate), false, [address]);

    private static GatewaySecureMimeContext Context(X509Certificate2[] recipients, TrustAnchorSet? anchors = null,
        X509Certificate2[]? authorities = null, byte[][]? crls = null) =>
        new(new CertificateSnapshot(
                recipients.Select(r => Stored(r)).ToList(),
                (authorities ?? []).Select(Bc).ToList(),
                (crls ?? []).Select(c => new Org.BouncyCastle.X509.X509Crl(c)).ToList()),
            anchors ?? TrustAnchorSet.None, DateTimeOffset.UtcNow);

    private static TrustAnchorSet Anchors(params X509Certificate2[] roots) => new(roots.Select(Bc).ToList());

    [Test]
    public void Check_GoodSelfSignedCertificateWithoutTrustAnchors_IsUsable()
    {
        var certificate = TestCertificates.CreateRecipient(Address);
        using var context = Context([certificate]);
        Assert.That(context.Check(Bc(certificate), Address), Is.Null);
        Assert.That(context.Check(Bc(certificate), "DR.LEE@Specialist.Example"), Is.Null, "addresses compare case-insensitively");
    }

    [Test]
    public void Check_AddressOnlyInSubjectEmail_IsUsable()
    {
        var certificate = TestCertificates.CreateRecipient(null, subjectEmail: "Dr.Lee@specialist.example");
        using var context = Context([certificate]);
        Assert.That(context.Check(Bc(certificate), Address), Is.Null);
    }

    [Test]
    public void Check_NoKeyUsageExtension_IsUsable()
    {
        var certificate = TestCertificates.CreateRecipient(Address, usage: null);
        using var context = Context([certificate]);
        Assert.That(context.Check(Bc(certificate), Address), Is.Null);
    }

    public static IEnumerable<TestCaseData> Unusable()
    {
        yield return new TestCaseData(() => TestCertificates.CreateRecipient(Address, notBefore: DateTimeOffset.UtcNow.AddYears(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-1)), "expired")
            .SetName("Check_ExpiredCertificate_Expired");
        yield return new TestCaseData(() => TestCertificates.CreateRecipient(Address, notBefore: DateTimeOffset.UtcNow.AddDays(2), notAfter: DateTimeOffset.UtcNow.AddYears(1)), "not yet valid")
            .SetName("Check_FutureCertificate_NotYetValid");
        yield return new TestCaseData(() => TestCertificates.CreateRecipient(Address, usage: X509KeyUsageFlags.DigitalSignature), "no key encipherment usage")
            .SetName("Check_SigningOnlyKeyUsage_NoKeyEnciphermentUsage");
        yield return new TestCaseData(() => TestCertificates.CreateRecipient(Address, eku: ["1.3.6.1.5.5.7.3.1"]), "no e-mail protection usage")
            .SetName("Check_ServerAuthOnlyEku_NoEmailProtectionUsage");
        yield return new TestCaseData(() => TestCertificates.CreateRecipient("someone.else@specialist.example"), "address mismatch")
            .SetName("Check_CertificateForAnotherAddress_AddressMismatch");
    }

    [TestCaseSource(nameof(Unusable))]
    public void Check_UnusableCertificate_GivesPreciseReason(Func<X509Certificate2> create, string reason)
    {
        var certificate = create();
        using var context = Context([certificate]);
        Assert.That(context.Check(Bc(certificate), Address), Is.EqualTo(reason));
        Assert.That(context.Choose(Address), Is.EqualTo(new CertificateVerdict(null, reason)));
    }

    [Test]
    public void Check_TrustAnchorsAndChainToThem_IsUsable()
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        using var context = Context([certificate], Anchors(TestCertificates.Ca));
        Assert.That(context.Check(Bc(certificate), Address), Is.Null);
    }

    [Test]
    public void Check_TrustAnchorsAndChainThroughImportedIntermediate_IsUsable()
    {
        using var intermediateKey = System.Security.Cryptography.RSA.Create(2048);
        var request = new CertificateRequest("CN=PhiMail Test Intermediate", intermediateKey, System.Security.Cryptography.HashAlgorithmName.SHA256,
            System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(TestCertificates.Ca, true, false));
        using var issued = request.Create(TestCertificates.Ca, DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(5), [1, 2, 3]);
        var intermediate = issued.CopyWithPrivateKey(intermediateKey);
        var certificate = TestCertificates.CreateRecipient(Address, intermediate);

        using (var without = Context([certificate], Anchors(TestCertificates.Ca)))
            Assert.That(without.Check(Bc(certificate), Address), Is.EqualTo("untrusted chain"), "the intermediate is not known");
        using var with = Context([certificate], Anchors(TestCertificates.Ca), authorities: [intermediate]);
        Assert.That(with.Check(Bc(certificate), Address), Is.Null);
    }

    [Test]
    public void Check_TrustAnchorsAndSelfSignedCertificate_UntrustedChain()
    {
        var certificate = TestCertificates.CreateRecipient(Address);
        using var context = Context([certificate], Anchors(TestCertificates.Ca));
        Assert.That(context.Check(Bc(certificate), Address), Is.EqualTo("untrusted chain"));
    }

    [Test]
    public void Check_TrustAnchorsAndCertificateFromAnotherCa_UntrustedChain()
    {
        var otherCa = TestCertificates.CreateCa("Some Other CA", System.Security.Cryptography.RSA.Create(2048));
        var certificate = TestCertificates.CreateRecipient(Address, otherCa);
        using var context = Context([certificate], Anchors(TestCertificates.Ca));
        Assert.That(context.Check(Bc(certificate), Address), Is.EqualTo("untrusted chain"));
    }

    [Test]
    public void Check_CertificateListedInImportedCrl_Revoked()
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        var crl = TestCertificates.Crl(TestCertificates.Ca, certificate);
        using (var anchored = Context([certificate], Anchors(TestCertificates.Ca), crls: [crl]))
            Assert.That(anchored.Check(Bc(certificate), Address), Is.EqualTo("revoked"));
        using (var withAuthority = Context([certificate], authorities: [TestCertificates.Ca], crls: [crl]))
            Assert.That(withAuthority.Check(Bc(certificate), Address), Is.EqualTo("revoked"), "the CA imported as an authority verifies its CRL");
        var other = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        using var notListed = Context([other], Anchors(TestCertificates.Ca), crls: [crl]);
        Assert.That(notListed.Check(Bc(other), Address), Is.Null, "a certificate the CRL does not list stays usable");
    }

    [Test]
    public void Check_CrlWithForgedSignature_Ignored()
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        // Same CA name, different key: the CRL's signature does not verify with the real CA.
        var impostor = TestCertificates.CreateCa("PhiMail Test CA", System.Security.Cryptography.RSA.Create(2048));
        var crl = TestCertificates.Crl(impostor, certificate);
        using var context = Context([certificate], Anchors(TestCertificates.Ca), crls: [crl]);
        Assert.That(context.Check(Bc(certificate), Address), Is.Null);
    }

    [Test]
    public void Choose_ExpiredAndValidCertificates_PicksTheUsableOne()
    {
        var expired = TestCertificates.CreateRecipient(Address, notBefore: DateTimeOffset.UtcNow.AddYears(-3), notAfter: DateTimeOffset.UtcNow.AddYears(-1));
        var valid = TestCertificates.CreateRecipient(Address, otherKey: true);
        using var context = Context([expired, valid]);
        Assert.That(context.Choose(Address).Certificate?.Thumbprint, Is.EqualTo(CertificateFacts.Thumbprint(Bc(valid))));
        Assert.That(context.CanEncrypt(new MailboxAddress("", Address)), Is.True);
        Assert.That(context.Choose("nobody@specialist.example"), Is.EqualTo(new CertificateVerdict(null, null)));
    }

    [Test]
    public void Import_Pfx_NotSupported()
    {
        using var context = Context([]);
        Assert.That(() => context.Import(new MemoryStream([1, 2, 3]), "pw"), Throws.TypeOf<NotSupportedException>());
        Assert.That(() => context.Encrypt([new MailboxAddress("", Address)], new MemoryStream([1])), Throws.TypeOf<CertificateNotFoundException>());
    }
}
