using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

// `--config` sets PHIMAIL_CONFIG for the process.
[NonParallelizable]
public class RulesCommandTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory();

    [TearDown]
    public void TearDown()
    {
        // --config sets PHIMAIL_CONFIG for the process; later tests want the shipped file.
        Environment.SetEnvironmentVariable(PhiMailGateway.Hosting.GatewayConfiguration.ConfigFileVariable, null);
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_dir.Path}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Sample(string name) => Path.Combine(AppContext.BaseDirectory, "samples", name);

    [Test]
    public async Task RulesTest_DicomInZip_ShowsFindingsAndDecisionWithoutPatientData()
    {
        var rules = Path.Combine(_dir.Path, "candidate.json");
        await File.WriteAllTextAsync(rules, """
            { "Rules": [
              { "Name": "lab-tls", "When": { "RecipientDomains": [ "smilelab.example" ] }, "Action": "RequireTls" },
              { "Name": "images-pickup", "When": { "HasDentalImage": true }, "Action": "Pickup" },
              { "Name": "rest", "Action": "Relay" }
            ] }
            """);
        var (code, output, err) = await Run("rules", "test", "--config", rules, "--eml", Sample("zip-of-xrays.eml"), "--to", "dr.lee@specialist.example", "--to", "tech@smilelab.example");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("Dental image: yes"));
        Assert.That(output, Does.Contain("xrays.zip) > bitewing.dcm: Dicom, DICOM"));
        Assert.That(output, Does.Contain("pano.jpg: Radiograph, JPEG").And.Contain("2000x1000"));
        Assert.That(output, Does.Contain("dr.lee@specialist.example: Pickup (rule 'images-pickup', purpose Treatment)"));
        Assert.That(output, Does.Contain("rule 'lab-tls': skipped, recipient domain specialist.example is not in RecipientDomains"));
        Assert.That(output, Does.Contain("tech@smilelab.example: RequireTls (rule 'lab-tls'"));
        Assert.That(output, Does.Not.Contain("TEST^PATIENT").And.Not.Contain("TEST-0001"), "patient data only with --show-phi");
    }

    [Test]
    public async Task RulesTest_DirectOn_ShowsPerRecipientWhatTlsFirstWouldDoNow_AndSendsNothing()
    {
        using var dns = TestDnsServer.Start();
        var port = TestGateway.GetFreePort();
        using var good = TestCertificates.CreateServer(TestCertificates.Ca, "mx.ortho-lab.test");
        using var bad = TestCertificates.CreateServer(null, "mx.imaging-center.test");
        dns.Mx("ortho-lab.test", 10, "mx.ortho-lab.test").A("mx.ortho-lab.test", "127.0.0.61")
            .Mx("imaging-center.test", 10, "mx.imaging-center.test").A("mx.imaging-center.test", "127.0.0.62");
        await using var pkix = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = System.Net.IPAddress.Parse("127.0.0.61"), Port = port, Certificate = good });
        await using var selfSigned = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = System.Net.IPAddress.Parse("127.0.0.62"), Port = port, Certificate = bad });
        string[] direct = ["--Direct:Enabled=true", $"--Direct:Resolver={dns.Resolver}", $"--Direct:SmtpPort={port}",
            $"--Direct:TrustRoots:0={TestCertificates.WritePem(Path.Combine(_dir.Path, "roots.pem"), TestCertificates.Ca)}"];

        var (code, output, err) = await Run(["rules", "test", "--eml", Sample("xray-dicom.eml"), "--to", "lab@ortho-lab.test", "--to", "desk@imaging-center.test", .. direct]);

        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("lab@ortho-lab.test: TlsFirst (rule 'images-tls-first'"));
        Assert.That(output, Does.Contain("  TLS-first: direct, DirectTls(pkix) mx=mx.ortho-lab.test tls=Tls1"));
        Assert.That(output, Does.Contain("  TLS-first: fallback Pickup: no MX with verified TLS: mx.imaging-center.test: the certificate does not chain to a trusted root"));
        Assert.That((pkix.SessionCount, pkix.Messages.Count, selfSigned.Messages.Count), Is.EqualTo((1, 0, 0)), "a handshake, never a message");

        var offline = await Run(["rules", "test", "--eml", Sample("xray-dicom.eml"), "--to", "lab@ortho-lab.test", "--offline", .. direct]);
        Assert.That(offline.Code, Is.Zero, offline.Err);
        Assert.That(offline.Out, Does.Contain("  TLS-first: not checked (--offline); direct when the MX's TLS verifies (DANE, MTA-STS, PKIX), else Pickup"));
        Assert.That(pkix.SessionCount, Is.EqualTo(1), "--offline asks nobody");
    }

    [Test]
    public async Task RulesTest_ImagesToALookalikeOfAVouchedAddress_ShowsTheGuardsHoldAndWhy()
    {
        Assert.That((await Run("guard", "known", "add", "dr.lee@endo-specialists.example")).Code, Is.Zero);

        var (code, output, err) = await Run("rules", "test", "--eml", Sample("xray-dicom.eml"),
            "--to", "dr.lee@endo-specialsts.example", "--to", "dr.lee@endo-specialists.example", "--to", "x@far-away.example");

        Assert.That(code, Is.Zero, err);
        var lines = output.Split('\n').Select(l => l.TrimEnd()).ToList();
        Assert.That(lines, Does.Contain("  guard: hold: looks like endo-specialists.example, which you have sent to before (Lookalike, hold); has not received images from the practice before (NewRecipient, flag)"));
        Assert.That(lines, Does.Contain("  guard: flag: has not received images from the practice before (NewRecipient, flag)"), "the unknown, unrelated address");
        Assert.That(lines.Count(l => l == "  guard: pass"), Is.EqualTo(1), "the vouched address");
    }

    [Test]
    public async Task RulesTest_BadGuardSetting_OneLineNamingTheKeyBeforeAnyOutput()
    {
        var (code, output, err) = await Run("rules", "test", "--eml", Sample("hello.eml"), "--Guard:Lookalike=Sometimes");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err.Trim(), Is.EqualTo("Configuration error: Guard:Lookalike: 'Sometimes' is not one of Off, Flag, Hold."));
        Assert.That(output, Is.Empty, "refused before the dry run starts");
    }

    [Test]
    public async Task RulesTest_NoDentalImage_GuardChecksNothing()
    {
        var (code, output, err) = await Run("rules", "test", "--eml", Sample("hello.eml"), "--to", "dr.lee@endo-specialsts.example");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("  guard: pass (no dental image, nothing to check)"));
    }

    [Test]
    public async Task RulesTest_ShowPhi_ShowsDicomPatient()
    {
        var (code, output, err) = await Run("rules", "test", "--eml", Sample("xray-dicom.eml"), "--show-phi");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("patient: TEST^PATIENT, id TEST-0001"));
    }

    [Test]
    public async Task RulesTest_SignatureLogoOnly_IsRelayed()
    {
        var (code, output, err) = await Run("rules", "test", "--eml", Sample("signature-logo.eml"), "--to", "dr.lee@specialist.example");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("Dental image: no"));
        Assert.That(output, Does.Contain(": Decoration,"));
        Assert.That(output, Does.Contain("dr.lee@specialist.example: Relay (rule 'everything-else'"));
    }

    [Test]
    public async Task RulesTest_NoRuleMatches_SaysTheMessageWouldBeHeld()
    {
        var rules = Path.Combine(_dir.Path, "candidate.json");
        await File.WriteAllTextAsync(rules, """{ "Rules": [ { "Name": "lab-only", "When": { "RecipientDomains": [ "lab.example" ] }, "Action": "Relay" } ] }""");
        var (code, output, _) = await Run("rules", "test", "--config", rules, "--eml", Sample("hello.eml"));
        Assert.That(code, Is.Zero);
        Assert.That(output, Does.Contain("HOLD (no rule matched"));
    }

    [TestCase("rules", "test", "--eml", "/nonexistent/x.eml")]
    [TestCase("rules", "test")]
    [TestCase("rules", "test", "--eml", "a.eml", "--bogus")]
    [TestCase("rules", "check")]
    [TestCase("rules", "test", "--config", "/nonexistent/rules.json", "--eml", "a.eml")]
    public async Task RulesTest_BadInput_ExitsTwoWithAMessage(params string[] args)
    {
        var (code, _, err) = await Run(args);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("rules"));
    }

    [Test]
    public async Task RulesTest_InvalidRule_ExitsTwoNamingRuleAndField()
    {
        var (code, _, err) = await Run("rules", "test", "--eml", Sample("hello.eml"), "--Rules:0:Name=x", "--Rules:0:Action=Explode");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("Rules:0 (x): Action 'Explode' is not one of"));
    }

    [Test]
    public async Task RulesTest_RecipientWithImportedCertificate_GetsSmime()
    {
        var pem = TestCertificates.WritePem(Path.Combine(_dir.Path, "lee.pem"), TestCertificates.CreateRecipient("dr.lee@specialist.example"));
        var imported = await Run("certs", "import", pem);
        Assert.That(imported.Code, Is.Zero, imported.Err);

        var (code, output, err) = await Run("rules", "test", "--eml", Sample("xray-dicom.eml"), "--to", "dr.lee@specialist.example", "--to", "patient@mail.example");
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("dr.lee@specialist.example: Smime (rule 'images-smime'"), "the dry run asks the real certificate store");
        Assert.That(output, Does.Contain("patient@mail.example: Pickup (rule 'images-tls-first'"));
        Assert.That(output, Does.Contain("  TlsFirst takes its fallback Pickup: Direct:Enabled is false"));
    }
}
