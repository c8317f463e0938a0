using System.Security.Cryptography.X509Certificates;
using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

public class CertsCommandTests
{
    private const string Address = "dr.lee@specialist.example";
    private TempDirectory _files = null!;
    private string _data = null!;

    [SetUp]
    public void SetUp()
    {
        _files = new TempDirectory();
        _data = Path.Combine(_files.Path, "data");
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        _files.Dispose();
    }

    private string File(string name) => Path.Combine(_files.Path, name);

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_data}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task CertsImport_Pem_ListShowsAddressStatusExpiryThumbprintAndRemoveDeletes()
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca, commonName: "Dr Lee");
        var imported = await Run("certs", "import", TestCertificates.WritePem(File("lee.pem"), certificate));
        Assert.That(imported.Code, Is.EqualTo(0), imported.Err);
        Assert.That(imported.Out, Does.Contain($"Imported recipient certificate for {Address}"));
        Assert.That(imported.Out, Does.Contain($"{Address}: usable"));

        var listed = await Run("certs", "list");
        Assert.That(listed.Code, Is.EqualTo(0), listed.Err);
        var thumbprint = Convert.ToHexString(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256));
        var line = listed.Out.Split('\n').Single(l => l.StartsWith(Address, StringComparison.Ordinal));
        Assert.That(line, Does.Contain("usable"));
        Assert.That(line, Does.Contain(certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd")));
        Assert.That(line, Does.Contain(thumbprint));
        Assert.That(line, Does.Contain("CN=Dr Lee"));
        Assert.That(line, Does.Contain("issuer CN=PhiMail Test CA"));

        var removed = await Run("certs", "remove", "DR.LEE@specialist.example");
        Assert.That(removed.Code, Is.EqualTo(0), removed.Err);
        Assert.That(removed.Out.Trim(), Is.EqualTo($"Removed 1 certificate for {Address}"));
        Assert.That((await Run("certs", "list")).Out.Trim(), Is.EqualTo("No certificates."));
    }

    [Test]
    public async Task CertsImport_Der_Imported()
    {
        var result = await Run("certs", "import", TestCertificates.WriteDer(File("lee.cer"), TestCertificates.CreateRecipient(Address)));
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain($"{Address}: usable"));
    }

    [TestCase(false, "chain.p7b")]
    [TestCase(true, "chain.p7c")]
    public async Task CertsImport_Pkcs7Chain_ImportsRecipientAndAuthority(bool pem, string name)
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        var result = await Run("certs", "import", TestCertificates.WritePkcs7(File(name), pem, certificate, TestCertificates.Ca));
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain($"Imported recipient certificate for {Address}"));
        Assert.That(result.Out, Does.Contain("Imported authority certificate"));

        var listed = await Run("certs", "list");
        Assert.That(listed.Out, Does.Contain("(authority)"));
        Assert.That(listed.Out.Split('\n').Count(l => l.Contains("CN=", StringComparison.Ordinal)), Is.EqualTo(2));
    }

    [Test]
    public async Task CertsImport_TwiceTheSame_SaysAlreadyKnown()
    {
        var path = TestCertificates.WritePem(File("lee.pem"), TestCertificates.CreateRecipient(Address));
        await Run("certs", "import", path);
        var again = await Run("certs", "import", path);
        Assert.That(again.Code, Is.EqualTo(0), again.Err);
        Assert.That(again.Out, Does.Contain("Already known"));
    }

    [TestCase("partner.pfx")]
    [TestCase("partner.bin")]
    public async Task CertsImport_Pfx_RefusedExit2SayingItIsAPrivateKey(string name)
    {
        var path = TestCertificates.WritePfx(File(name), TestCertificates.CreateRecipient(Address), "pw");
        var result = await Run("certs", "import", path);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("private key"));
        Assert.That(result.Err, Does.Contain("never"));
        Assert.That(Directory.Exists(_data) && System.IO.File.Exists(Path.Combine(_data, "gateway.db")), Is.False, "nothing stored");
    }

    [Test]
    public async Task CertsImport_PemWithPrivateKey_Refused()
    {
        var certificate = TestCertificates.CreateRecipient(Address);
        var path = File("both.pem");
        await System.IO.File.WriteAllTextAsync(path, TestCertificates.Pem(certificate) + "\n" + TestCertificates.KeyPem(certificate));
        var result = await Run("certs", "import", path);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("private key"));
    }

    [TestCase(new byte[0], "is empty")]
    [TestCase(new byte[] { 10, 32, 13, 10 }, "is empty")]
    [TestCase(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 2, 3, 0xFF }, "is not a certificate")]
    [TestCase(new byte[] { 0x30, 0x82, 0x01, 0x00, 0x02 }, "is not a certificate")]
    public async Task CertsImport_GarbageOrEmpty_Exit2WithClearError(byte[] content, string message)
    {
        var path = File("partner.cer");
        await System.IO.File.WriteAllBytesAsync(path, content);
        var result = await Run("certs", "import", path);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain(message));
        Assert.That(result.Err, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public async Task CertsImport_PemGarbageText_Exit2()
    {
        var path = File("partner.pem");
        await System.IO.File.WriteAllTextAsync(path, "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n");
        var result = await Run("certs", "import", path);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("not base64"));
    }

    [Test]
    public async Task CertsImport_MissingFile_Exit2()
    {
        var result = await Run("certs", "import", File("nope.pem"));
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("no file"));
    }

    [Test]
    public async Task CertsImport_CertificateWithoutAddress_Exit2UnlessAddressGiven()
    {
        var path = TestCertificates.WritePem(File("noaddr.pem"), TestCertificates.CreateRecipient(null));
        var refused = await Run("certs", "import", path);
        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.Err, Does.Contain("--address"));

        var bound = await Run("certs", "import", path, "--address", Address);
        Assert.That(bound.Code, Is.EqualTo(0), bound.Err);
        Assert.That(bound.Out, Does.Contain($"{Address}: address mismatch"));
        Assert.That(bound.Err, Does.Contain("not usable"));
    }

    [Test]
    public async Task CertsImport_ExpiredCertificate_ImportedWithWarningAndListedExpired()
    {
        var certificate = TestCertificates.CreateRecipient(Address, notBefore: DateTimeOffset.UtcNow.AddYears(-2), notAfter: DateTimeOffset.UtcNow.AddDays(-3));
        var result = await Run("certs", "import", TestCertificates.WritePem(File("old.pem"), certificate));
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Err, Does.Contain("expired"));
        Assert.That((await Run("certs", "list")).Out, Does.Match($@"{Address.Replace(".", @"\.")}\s+expired"));
    }

    [Test]
    public async Task CertsImport_CrlFile_RevokesListedCertificate()
    {
        var certificate = TestCertificates.CreateRecipient(Address, TestCertificates.Ca);
        await Run("certs", "import", TestCertificates.WritePkcs7(File("chain.p7b"), false, certificate, TestCertificates.Ca));
        var crlPath = File("ca.crl");
        await System.IO.File.WriteAllBytesAsync(crlPath, TestCertificates.Crl(TestCertificates.Ca, certificate));

        var result = await Run("certs", "import", crlPath);
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain("Imported 1 CRL"));
        Assert.That((await Run("certs", "list")).Out, Does.Match($@"{Address.Replace(".", @"\.")}\s+revoked"));
    }

    [Test]
    public async Task CertsList_TrustAnchorsConfigured_SelfSignedIsUntrusted()
    {
        await Run("certs", "import", TestCertificates.WritePem(File("self.pem"), TestCertificates.CreateRecipient(Address)));
        var anchor = TestCertificates.WritePem(File("root.pem"), TestCertificates.Ca);
        var listed = await Run("certs", "list", $"--Smime:TrustAnchors:0={anchor}");
        Assert.That(listed.Code, Is.EqualTo(0), listed.Err);
        Assert.That(listed.Out, Does.Match($@"{Address.Replace(".", @"\.")}\s+untrusted chain"));
    }

    [Test]
    public async Task CertsList_BadTrustAnchorFile_ConfigurationErrorNamingKey()
    {
        var result = await Run("certs", "list", $"--Smime:TrustAnchors:0={File("missing-root.pem")}");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("Configuration error: Smime:TrustAnchors:0"));
    }

    [Test]
    public async Task CertsRemove_Unknown_Exit1()
    {
        var result = await Run("certs", "remove", "nobody@specialist.example");
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("nobody@specialist.example"));
    }

    [TestCase()]
    [TestCase("import")]
    [TestCase("list", "extra")]
    [TestCase("remove")]
    [TestCase("import", "a.pem", "--adress", "x@y")]
    [TestCase("frobnicate")]
    public async Task CertsCommand_BadArguments_Exit2WithUsage(params string[] rest)
    {
        var result = await Run(["certs", .. rest]);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("Usage:"));
    }

    /// <summary>A self-signed certificate as `openssl req -x509` makes it (CA:TRUE by default), with optional extra extensions.</summary>
    private string OpensslSelfSigned(string name, params string[] extensions)
    {
        var key = File(name + ".key");
        var cert = File(name + ".pem");
        string[] args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "30",
            "-subj", "/CN=Dr Lee", "-addext", $"subjectAltName=email:{Address}"];
        foreach (var e in extensions) args = [.. args, "-addext", e];
        var result = Openssl.Run(args);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Error);
        Assert.That(Openssl.Run("x509", "-in", cert, "-noout", "-ext", "basicConstraints").Output, Does.Contain("CA:TRUE"), "the shape the issue reports");
        return cert;
    }

    [TestCase(null, TestName = "CertsImport_PlainOpensslReqX509_IsTheRecipientsOwnCertificate")]
    [TestCase("keyUsage=digitalSignature,keyEncipherment", TestName = "CertsImport_SelfSignedCaTrueWithoutKeyCertSign_IsTheRecipientsOwnCertificate")]
    public async Task CertsImport_SelfSignedForAMailbox_IsARecipientCertificate(string? extension)
    {
        var result = await Run("certs", "import", extension is null ? OpensslSelfSigned("lee") : OpensslSelfSigned("lee", extension));
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain($"Imported recipient certificate for {Address}"));
        Assert.That(result.Out, Does.Contain($"status   {Address}: usable"));
        Assert.That(result.Out, Does.Not.Contain("authority"));

        var list = await Run("certs", "list");
        Assert.That(list.Out, Does.Contain(Address));
        Assert.That(list.Out, Does.Not.Contain("(authority)"));
    }

    [Test]
    public async Task CertsImport_AddressForASelfSignedMailboxCertificate_BindsIt()
    {
        var result = await Run("certs", "import", OpensslSelfSigned("lee"), "--address", "lee.alias@specialist.example");
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain("Imported recipient certificate for lee.alias@specialist.example"));
        Assert.That(result.Err, Does.Not.Contain("this one has 0"));
    }

    [Test]
    public async Task CertsImport_RealAuthority_SaysPlainlyNoRecipientGetsSmimeFromIt()
    {
        var ca = OpensslSelfSigned("ca", "keyUsage=critical,keyCertSign,cRLSign");
        var result = await Run("certs", "import", ca);
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.Contain("Imported authority certificate").And.Contain("used only to build chains"));
        Assert.That(result.Out, Does.Contain("no recipient gets S/MIME from this certificate itself: it is marked CA:TRUE and its key may sign certificates (keyCertSign)"));

        var bound = await Run("certs", "import", ca, "--address", Address);
        Assert.That(bound.Code, Is.EqualTo(2));
        Assert.That(bound.Err, Does.Contain("the file holds one certificate, only authorities, which no recipient gets S/MIME from"));
        Assert.That(bound.Err, Does.Not.Contain("has 0"));
    }
}
