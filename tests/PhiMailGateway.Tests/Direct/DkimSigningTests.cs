using System.Security.Cryptography;
using System.Text;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using PhiMailGateway.Cli;
using PhiMailGateway.Direct;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Direct;

/// <summary>The DKIM signer and its options: signatures checked by dkimpy, not by MimeKit, which made them.</summary>
public class DkimSigningTests
{
    private const string Domain = "smiledental.example";
    private const string Selector = "mail2026";

    private TempDirectory _temp = null!;
    private RSA _key = null!;
    private string _keyPath = null!;

    [OneTimeSetUp]
    public void CreateKey()
    {
        _temp = new TempDirectory();
        _key = RSA.Create(2048);
        _keyPath = WriteKey("signing.pem", _key.ExportPkcs8PrivateKeyPem());
    }

    [OneTimeTearDown]
    public void Cleanup()
    {
        _key.Dispose();
        _temp.Dispose();
    }

    private static string Record(RSA key) => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());

    private string WriteKey(string name, string pem, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_temp.Path, name);
        File.WriteAllText(path, pem);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private DirectOptions Options(string? domain = Domain, string? selector = Selector, string? keyPath = null) => new()
    {
        Enabled = true,
        Dkim = new DirectDkimOptions { Domain = domain, Selector = selector, KeyPath = keyPath ?? _keyPath },
    };

    private static MimeMessage Parse(string text) => MimeMessage.Load(new MemoryStream(Encoding.UTF8.GetBytes(text)));

    private static byte[] Bytes(MimeMessage message)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var stream = new MemoryStream();
        message.WriteTo(options, stream);
        return stream.ToArray();
    }

    private static Dictionary<string, string> Tags(MimeMessage message) =>
        message.Headers[HeaderId.DkimSignature]!.Replace("\r\n", "", StringComparison.Ordinal).Split(';')
            .Select(t => t.Split('=', 2)).Where(t => t.Length == 2)
            .ToDictionary(t => t[0].Trim(), t => string.Concat(t[1].Where(c => !char.IsWhiteSpace(c))));

    private const string Referral =
        "From: Front Desk <office@smiledental.example>\r\nTo: Dr Lee <dr.lee@specialist.test>\r\nSubject: Referral\r\n" +
        "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <r1@smiledental.example>\r\nX-Mailer: Front Desk 1.0\r\n\r\nPlease see the attached.\r\n";

    [Test]
    public void Sign_MessageOfTheDomain_RelaxedRsaSha256ForDomainAndSelector_SignsOnlyTheListedHeadersPresent_AndDkimpyVerifies()
    {
        var signing = DkimSigning.Create(Options(), NullLogger.Instance);
        using var message = Parse(Referral);

        var signed = signing.Sign(message, "office@smiledental.example", SmtpCapabilities.EightBitMime, "01TEST-1");

        Assert.That(signed, Is.True);
        var tags = Tags(message);
        Assert.That((tags["a"], tags["c"], tags["d"], tags["s"]), Is.EqualTo(("rsa-sha256", "relaxed/relaxed", Domain, Selector)));
        Assert.That(tags["h"], Is.EqualTo("from:to:subject:date:message-id"), "only the listed headers that are present; X-Mailer is not signed");
        var verified = DkimVerifier.Verify(Bytes(message), $"{Selector}._domainkey.{Domain}", Record(_key));
        Assert.That(verified.Passed, Is.True, verified.Output);
        Assert.That(verified.Output, Does.Contain($"looked up: {Selector}._domainkey.{Domain}"));
    }

    [Test]
    public void Sign_ThenTheBodyIsChanged_DkimpyFails()
    {
        var signing = DkimSigning.Create(Options(), NullLogger.Instance);
        using var message = Parse(Referral);
        signing.Sign(message, "office@smiledental.example", SmtpCapabilities.EightBitMime, "01TEST-1");
        var bytes = Encoding.ASCII.GetString(Bytes(message));

        var tampered = DkimVerifier.Verify(Encoding.ASCII.GetBytes(bytes.Replace("the attached", "the attachex", StringComparison.Ordinal)), $"{Selector}._domainkey.{Domain}", Record(_key));
        var otherKey = DkimVerifier.Verify(Encoding.ASCII.GetBytes(bytes), $"{Selector}._domainkey.{Domain}", Record(RSA.Create(2048)));

        Assert.That(tampered.Passed, Is.False, tampered.Output);
        Assert.That(otherKey.Passed, Is.False, "a signature checked against another key must fail: " + otherKey.Output);
    }

    [TestCase("office@smiledental.example", "office@smiledental.example", true)]
    [TestCase("office@mail.smiledental.example", "office@mail.smiledental.example", true)]
    [TestCase("bounces@elsewhere.test", "office@SmileDental.example", true)]
    [TestCase("office@smiledental.example", "someone@elsewhere.test", true)]
    [TestCase("office@elsewhere.test", "office@elsewhere.test", false)]
    [TestCase("office@evilsmiledental.example", "office@evilsmiledental.example", false)]
    [TestCase(null, "office@smiledental.example.evil.test", false)]
    public void Sign_OnlyWhenTheEnvelopeSenderOrTheFromDomainIsTheDomainOrBelowIt(string? envelope, string from, bool expected)
    {
        var logs = new RecordingLoggerProvider();
        var signing = DkimSigning.Create(Options(), logs.CreateLogger("dkim"));
        using var message = Parse(Referral.Replace("office@smiledental.example>", from + ">", StringComparison.Ordinal));

        var signed = signing.Sign(message, envelope, SmtpCapabilities.EightBitMime, "01TEST-1");

        Assert.That(signed, Is.EqualTo(expected));
        Assert.That(message.Headers.Contains(HeaderId.DkimSignature), Is.EqualTo(expected));
        if (!expected)
        {
            var why = logs.WithId(4343).Single();
            Assert.That((why.Level, why.Message), Is.EqualTo((LogLevel.Debug,
                "Delivery 01TEST-1: not DKIM-signed: neither the envelope sender's domain nor the From domain is Direct:Dkim:Domain or below it")));
        }
    }

    [Test]
    public void Sign_ReplyWithCcMimeAndThreadHeaders_SignsAllOfThem_AndDkimpyVerifies()
    {
        var signing = DkimSigning.Create(Options(), NullLogger.Instance);
        using var message = Parse(
            "From: office@smiledental.example\r\nTo: a@x.test\r\nCc: b@y.test\r\nSubject: Re: Referral\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n" +
            "Message-ID: <r2@smiledental.example>\r\nIn-Reply-To: <r1@x.test>\r\nReferences: <r0@x.test> <r1@x.test>\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe,   the    practice\r\n\r\n\r\n");

        Assert.That(signing.Sign(message, "office@smiledental.example", SmtpCapabilities.EightBitMime, "01TEST-2"), Is.True);

        Assert.That(Tags(message)["h"], Is.EqualTo("from:to:cc:subject:date:message-id:mime-version:content-type:in-reply-to:references"));
        var verified = DkimVerifier.Verify(Bytes(message), $"{Selector}._domainkey.{Domain}", Record(_key));
        Assert.That(verified.Passed, Is.True, verified.Output);
    }

    [Test]
    public void Create_DirectOnWithoutDkim_WarnsThatDirectMailIsUnsigned_AndSignsNothing()
    {
        var on = new RecordingLoggerProvider();
        var off = new RecordingLoggerProvider();

        var signing = DkimSigning.Create(new DirectOptions { Enabled = true }, on.CreateLogger("dkim"));
        DkimSigning.Create(new DirectOptions { Enabled = false }, off.CreateLogger("dkim"));
        using var message = Parse(Referral);

        Assert.That(on.WithId(4340).Single().Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(on.WithId(4340).Single().Message, Does.Contain("unsigned"));
        Assert.That(off.Count(4340), Is.Zero, "direct delivery off: nothing goes out unsigned");
        Assert.That(signing.Sign(message, "office@smiledental.example", SmtpCapabilities.EightBitMime, "01TEST-1"), Is.False);
        Assert.That(message.Headers.Contains(HeaderId.DkimSignature), Is.False);
    }

    [Test]
    public void Validate_AllThreeValid_OrNoneSet_IsFine()
    {
        var validator = new DirectOptionsValidator();

        Assert.That(validator.Validate(null, Options()).Succeeded, Is.True, string.Join(" ", validator.Validate(null, Options()).Failures ?? []));
        Assert.That(validator.Validate(null, new DirectOptions { Enabled = true }).Succeeded, Is.True);
        Assert.That(validator.Validate(null, Options(keyPath: WriteKey("pkcs1.pem", _key.ExportRSAPrivateKeyPem()))).Succeeded, Is.True, "PKCS#1 is fine too");
    }

    private static IEnumerable<TestCaseData> BadOptions()
    {
        yield return new TestCaseData("no-selector", "Direct:Dkim: set Domain, Selector and KeyPath together, or none of them (missing Direct:Dkim:Selector).");
        yield return new TestCaseData("only-domain", "Direct:Dkim: set Domain, Selector and KeyPath together, or none of them (missing Direct:Dkim:Selector, Direct:Dkim:KeyPath).");
        yield return new TestCaseData("domain", "Direct:Dkim:Domain: must be a domain name such as smiledental.example (got 'smile dental').");
        yield return new TestCaseData("single-label-domain", "Direct:Dkim:Domain: must be a domain name such as smiledental.example (got 'localhost').");
        yield return new TestCaseData("selector", "Direct:Dkim:Selector: must be one DNS label (letters, digits, inner hyphens; at most 63), such as mail2026 (got 'mail.2026').");
        yield return new TestCaseData("selector-hyphen", "Direct:Dkim:Selector: must be one DNS label (letters, digits, inner hyphens; at most 63), such as mail2026 (got '-mail').");
        yield return new TestCaseData("missing", "Direct:Dkim:KeyPath: file not found ('{dir}/missing.pem'); `dkim keygen --selector S` writes one.");
        yield return new TestCaseData("group-readable", "Direct:Dkim:KeyPath: '{dir}/group.pem' is readable by others (mode 640); the signing key must be owner-only: chmod 600.");
        yield return new TestCaseData("public-key", "Direct:Dkim:KeyPath: '{dir}/public.pem' is not an RSA private key in PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): found 'PUBLIC KEY'");
        yield return new TestCaseData("not-pem", "Direct:Dkim:KeyPath: '{dir}/text.pem' is not an RSA private key in PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): no PEM block found");
        yield return new TestCaseData("ec-key", "Direct:Dkim:KeyPath: '{dir}/ec.pem' is not an RSA private key in PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): the key does not parse");
        yield return new TestCaseData("small-key", "Direct:Dkim:KeyPath: '{dir}/small.pem' is a 512-bit key; at least 1024 bits (2048 recommended).");
    }

    [TestCaseSource(nameof(BadOptions))]
    public void Validate_BadDkimValue_OneLineNamingTheKey(string kind, string expected)
    {
        var options = kind switch
        {
            "no-selector" => Options(selector: null),
            "only-domain" => new DirectOptions { Dkim = new DirectDkimOptions { Domain = Domain } },
            "domain" => Options(domain: "smile dental"),
            "single-label-domain" => Options(domain: "localhost"),
            "selector" => Options(selector: "mail.2026"),
            "selector-hyphen" => Options(selector: "-mail"),
            "missing" => Options(keyPath: Path.Combine(_temp.Path, "missing.pem")),
            "group-readable" => Options(keyPath: WriteKey("group.pem", _key.ExportPkcs8PrivateKeyPem(), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)),
            "public-key" => Options(keyPath: WriteKey("public.pem", _key.ExportSubjectPublicKeyInfoPem())),
            "not-pem" => Options(keyPath: WriteKey("text.pem", "just some text\n")),
            "ec-key" => Options(keyPath: WriteKey("ec.pem", ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem())),
            _ => Options(keyPath: WriteKey("small.pem", SmallKeyPem())),
        };

        var result = new DirectOptionsValidator().Validate(null, options);

        Assert.That(result.Failures, Is.EqualTo(new[] { expected.Replace("{dir}", _temp.Path, StringComparison.Ordinal) }));
        Assert.That(result.Failures!.Single(), Does.Not.Contain('\n'));
    }

    /// <summary>.NET refuses to make RSA keys below 1024 bits on some platforms; openssl makes any.</summary>
    private string SmallKeyPem()
    {
        var path = Path.Combine(_temp.Path, "small-source.pem");
        var made = Openssl.Run("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:512", "-out", path);
        Assert.That(made.ExitCode, Is.Zero, made.Error);
        return File.ReadAllText(path);
    }

    [Test]
    public void Configuration_DirectDkimKeys_AreBoundAndABadOneStopsStartUpNamingTheKey()
    {
        using var data = new TempDirectory();
        var overrides = new Dictionary<string, string?>
        {
            ["Gateway:DataDirectory"] = data.Path,
            ["Direct:Dkim:Domain"] = Domain,
            ["Direct:Dkim:Selector"] = Selector,
            ["Direct:Dkim:KeyPath"] = Path.Combine(_temp.Path, "nothing-here.pem"),
        };

        var e = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => CliContext.Create([], CliSections.Direct, overrides: overrides).Dispose());
        overrides["Direct:Dkim:KeyPath"] = _keyPath;
        using var context = CliContext.Create([], CliSections.Direct, overrides: overrides);

        Assert.That(e!.Failures.Single(), Does.StartWith("Direct:Dkim:KeyPath: file not found"));
        Assert.That(context.Get<DirectOptions>().Dkim, Is.EqualTo(new DirectDkimOptions { Domain = Domain, Selector = Selector, KeyPath = _keyPath }));
    }
}
