using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Crypto.Operators;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Smime;

public class StreamingEnvelopeTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("phimail-envelope-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [TestCase(0)]
    [TestCase(15)]
    [TestCase(16)]
    [TestCase(16 * 1024)]
    [TestCase(1_000_003)]
    public async Task Envelope_OpensslDecryptsItByteForByte_AndNamesAes256Cbc(int size)
    {
        var certificate = TestCertificates.CreateRecipient("dr.lee@specialist.example");
        var plaintext = RandomNumberGenerator.GetBytes(size);
        var envelope = Path.Combine(_dir, "out.p7m");
        var bcCertificate = new Org.BouncyCastle.X509.X509Certificate(certificate.RawData);
        await using (var output = File.Create(envelope))
            await StreamingEnvelope.WriteAsync(new MemoryStream(plaintext), output,
                new KeyTransRecipientInfoGenerator(bcCertificate, new Asn1KeyWrapper("RSA/NONE/PKCS1Padding", bcCertificate)), CancellationToken.None);

        var decrypted = Path.Combine(_dir, "plain.bin");
        var result = Openssl.Run("cms", "-decrypt", "-binary", "-inform", "DER", "-in", envelope, "-out", decrypted,
            "-recip", TestCertificates.WritePem(Path.Combine(_dir, "r.pem"), certificate), "-inkey", TestCertificates.WriteKey(Path.Combine(_dir, "r.key"), certificate));
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(await File.ReadAllBytesAsync(decrypted), Is.EqualTo(plaintext));

        var parsed = Openssl.Run("cms", "-cmsout", "-print", "-inform", "DER", "-in", envelope);
        Assert.That(parsed.Output, Does.Contain("aes-256-cbc"));
        Assert.That(parsed.Output, Does.Contain("rsaEncryption"));
    }
}
