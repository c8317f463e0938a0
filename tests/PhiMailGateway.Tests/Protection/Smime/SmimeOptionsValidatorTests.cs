using Microsoft.Extensions.Configuration;
using PhiMailGateway.Hosting;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Smime;

public class SmimeOptionsValidatorTests
{
    private static IReadOnlyList<string> Errors(SmimeOptions options) =>
        new SmimeOptionsValidator().Validate(null, options).Failures?.ToList() ?? [];

    [Test]
    public void SmimeOptions_Defaults_AreValidPkcs1WithoutSigning()
    {
        var options = new SmimeOptions();
        Assert.That(Errors(options), Is.Empty);
        Assert.That(options.KeyEncryption, Is.EqualTo(SmimeKeyEncryption.RsaPkcs1));
    }

    [Test]
    public void SmimeOptions_SigningCertificateMissingOrWrongPassword_ErrorNamesKey()
    {
        using var dir = new TempDirectory();
        Assert.That(Errors(new SmimeOptions { SigningCertificatePath = Path.Combine(dir.Path, "none.pfx") }),
            Has.Some.StartsWith("Smime:SigningCertificatePath: file"));
        var pfx = TestCertificates.WritePfx(Path.Combine(dir.Path, "practice.pfx"), TestCertificates.CreateRecipient("office@smiledental.example"), "right");
        Assert.That(Errors(new SmimeOptions { SigningCertificatePath = pfx, SigningCertificatePassword = "wrong" }),
            Has.Some.Contains("Smime__SigningCertificatePassword"));
        Assert.That(Errors(new SmimeOptions { SigningCertificatePath = pfx, SigningCertificatePassword = "right" }), Is.Empty);
    }

    [Test]
    public void SmimeOptions_TrustAnchorNotACertificate_ErrorNamesIndexedKey()
    {
        using var dir = new TempDirectory();
        var good = TestCertificates.WritePem(Path.Combine(dir.Path, "root.pem"), TestCertificates.Ca);
        var bad = Path.Combine(dir.Path, "bad.pem");
        File.WriteAllText(bad, "hello");
        Assert.That(Errors(new SmimeOptions { TrustAnchors = [good, bad] }), Has.Some.StartsWith("Smime:TrustAnchors:1:"));
        Assert.That(Errors(new SmimeOptions { TrustAnchors = [good] }), Is.Empty);
    }

    [Test]
    public void SecretSources_SigningPasswordOnCommandLine_Refused()
    {
        var configuration = new ConfigurationBuilder().AddCommandLine(["--Smime:SigningCertificatePassword=pw"]).Build();
        Assert.That(SecretSources.Check(configuration), Has.Some.Contains("Smime__SigningCertificatePassword"));
    }
}
