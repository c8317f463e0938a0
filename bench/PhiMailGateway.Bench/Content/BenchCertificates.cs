using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PhiMailGateway.Bench.Content;

/// <summary>
/// The S/MIME recipient's certificate, made here for the benchmark: RSA 2048, the recipient's address
/// as subject E= and SAN rfc822Name, emailProtection, and CA:FALSE (MimeKit's lookup skips CA
/// certificates). Made once per process; only the public part leaves it.
/// </summary>
public static class BenchCertificates
{
    private static readonly Lazy<X509Certificate2> Recipient = new(Create);

    public static X509Certificate2 RecipientCertificate => Recipient.Value;

    public static string RecipientCertificatePem() => Recipient.Value.ExportCertificatePem();

    private static X509Certificate2 Create()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN=Bench Lab, E={Scenario.SmimeRecipient}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.4")], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddEmailAddress(Scenario.SmimeRecipient);
        request.CertificateExtensions.Add(san.Build());
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
    }
}
