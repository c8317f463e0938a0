using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using MailKit.Net.Smtp;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using PhiMailGateway.Cli;
using PhiMailGateway.Direct;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

public class DkimCommandTests
{
    private TempDirectory _files = null!;
    private string _keyPath = null!;

    [SetUp]
    public void SetUp()
    {
        _files = new TempDirectory();
        _keyPath = Path.Combine(_files.Path, "keys", "dkim", "mail2026.pem");
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        _files.Dispose();
    }

    private async Task<(int Code, string Out, string Err)> Run(string[] config, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, .. config, $"--Gateway:DataDirectory={Path.Combine(_files.Path, "data")}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private string[] Configured => ["--Direct:Dkim:Domain=SmileDental.example.", $"--Direct:Dkim:KeyPath={_keyPath}"];

    [Test]
    public async Task Keygen_WritesAnOwnerOnlyKey_AndPrintsTheRecord_ThatVerifiesASignatureMadeWithThatKey()
    {
        var result = await Run(Configured, "dkim", "keygen", "--selector", "mail2026");

        Assert.That(result.Code, Is.Zero, result.Err);
        Assert.That(File.GetUnixFileMode(_keyPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(_keyPath)!), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        Assert.That(Directory.GetFiles(Path.GetDirectoryName(_keyPath)!), Is.EqualTo(new[] { _keyPath }), "no temporary file left behind");
        Assert.That(File.ReadAllText(_keyPath), Does.StartWith("-----BEGIN PRIVATE KEY-----"));
        using (var rsa = DkimKeyFile.Load(_keyPath)) Assert.That(rsa.KeySize, Is.EqualTo(2048));
        var name = Regex.Match(result.Out, @"^name:  (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        var value = Regex.Match(result.Out, @"^value: (.+?)\r?$", RegexOptions.Multiline).Groups[1].Value;
        Assert.That(name, Is.EqualTo("mail2026._domainkey.smiledental.example"));
        Assert.That(value, Does.Match("^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*$"));
        Assert.That(result.Out, Does.Contain("Then set Direct:Dkim:Selector=mail2026"), "the selector is not configured yet");

        var options = new DirectOptions { Enabled = true, Dkim = new DirectDkimOptions { Domain = "smiledental.example", Selector = "mail2026", KeyPath = _keyPath } };
        Assert.That(new DirectOptionsValidator().Validate(null, options).Failures, Is.Null, "the gateway accepts the key it wrote");
        using var message = MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(
            "From: office@smiledental.example\r\nTo: dr@x.test\r\nSubject: Referral\r\nMessage-ID: <k1@smiledental.example>\r\n\r\nHello.\r\n")));
        Assert.That(DkimSigning.Create(options, NullLogger.Instance).Sign(message, "office@smiledental.example", SmtpCapabilities.EightBitMime, "01TEST-K"), Is.True);
        using var wire = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, wire);
        var verified = DkimVerifier.Verify(wire.ToArray(), name, value);
        Assert.That(verified.Passed, Is.True, verified.Output);
    }

    [Test]
    public async Task Keygen_Bits1024_WritesA1024BitKey_AndSaysNothingAboutASelectorAlreadySet()
    {
        var result = await Run([.. Configured, "--Direct:Dkim:Selector=mail2026"], "dkim", "keygen", "--selector=mail2026", "--bits", "1024");

        Assert.That(result.Code, Is.Zero, result.Err);
        using (var rsa = DkimKeyFile.Load(_keyPath)) Assert.That(rsa.KeySize, Is.EqualTo(1024));
        Assert.That(result.Out, Does.Not.Contain("Then set"));
    }

    [Test]
    public async Task Keygen_KeyExists_RefusedWithoutForce_ReplacedWithForce()
    {
        Assert.That((await Run(Configured, "dkim", "keygen", "--selector", "mail2026")).Code, Is.Zero);
        var first = File.ReadAllText(_keyPath);

        var refused = await Run(Configured, "dkim", "keygen", "--selector", "mail2026");
        Assert.That(File.ReadAllText(_keyPath), Is.EqualTo(first), "the published key is not overwritten");
        var forced = await Run(Configured, "dkim", "keygen", "--selector", "mail2027", "--force");

        Assert.That(refused.Code, Is.EqualTo(2));
        Assert.That(refused.Err.Trim(), Is.EqualTo($"dkim keygen: '{_keyPath}' exists; the key published in DNS may be that one. Give --force to replace it."));
        Assert.That(forced.Code, Is.Zero, forced.Err);
        Assert.That(File.ReadAllText(_keyPath), Is.Not.EqualTo(first));
        Assert.That(File.GetUnixFileMode(_keyPath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(forced.Out, Does.Contain("name:  mail2027._domainkey.smiledental.example"));
    }

    [TestCase("", "dkim: expected `dkim keygen --selector S [--bits 2048] [--force]`.")]
    [TestCase("keygen", "dkim keygen: --selector S is required (the name under _domainkey, such as mail2026).")]
    [TestCase("keygen --selector", "dkim: expected `dkim keygen --selector S [--bits 2048] [--force]`.")]
    [TestCase("keygen --selector mail.2026", "dkim keygen: --selector: must be one DNS label (letters, digits, inner hyphens; at most 63), such as mail2026 (got 'mail.2026').")]
    [TestCase("keygen --selector mail2026 --bits 512", "dkim keygen: --bits: must be a multiple of 8 from 1024 to 4096; 2048 is recommended (got '512').")]
    [TestCase("keygen --selector mail2026 --bits many", "dkim keygen: --bits: must be a multiple of 8 from 1024 to 4096; 2048 is recommended (got 'many').")]
    [TestCase("rotate", "dkim: expected `dkim keygen --selector S [--bits 2048] [--force]`.")]
    public async Task Keygen_BadArguments_ExitTwoWithOneLine(string args, string expected)
    {
        var result = await Run(Configured, ["dkim", .. args.Split(' ', StringSplitOptions.RemoveEmptyEntries)]);

        Assert.That((result.Code, result.Err.TrimEnd()), Is.EqualTo((2, expected)));
        Assert.That(File.Exists(_keyPath), Is.False);
    }

    [TestCase("no-domain", "dkim keygen: set Direct:Dkim:Domain (the signing domain, such as smiledental.example) first.")]
    [TestCase("bad-domain", "dkim keygen: Direct:Dkim:Domain: must be a domain name such as smiledental.example (got 'smile dental').")]
    [TestCase("no-keypath", "dkim keygen: set Direct:Dkim:KeyPath (where the key file goes, such as /var/lib/phimail/dkim/mail2026.pem) first.")]
    public async Task Keygen_BadConfiguration_ExitTwoWithOneLine(string kind, string expected)
    {
        string[] config = kind switch
        {
            "no-domain" => [$"--Direct:Dkim:KeyPath={_keyPath}"],
            "bad-domain" => ["--Direct:Dkim:Domain=smile dental", $"--Direct:Dkim:KeyPath={_keyPath}"],
            _ => ["--Direct:Dkim:Domain=smiledental.example"],
        };

        var result = await Run(config, "dkim", "keygen", "--selector", "mail2026");

        Assert.That((result.Code, result.Err.TrimEnd()), Is.EqualTo((2, expected)));
        Assert.That(File.Exists(_keyPath), Is.False);
    }

    [Test]
    public async Task Dkim_Help_PrintsKeygenUsage()
    {
        var result = await Run([], "dkim", "--help");

        Assert.That(result.Code, Is.Zero, result.Err);
        Assert.That(result.Out, Does.Contain("dkim keygen --selector S [--bits 2048] [--force]"));
    }
}
