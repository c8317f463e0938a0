using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using ARSoft.Tools.Net.Dns;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Direct;
using PhiMailGateway.Relay;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;
using static ARSoft.Tools.Net.Dns.TlsaRecord;

namespace PhiMailGateway.Tests.Direct;

/// <summary>
/// Direct delivery to recipients' MX servers: real SMTP servers on their own loopback addresses
/// (127.0.0.x, one port for all, as port 25 is for the internet), a real DNS server for the test
/// zones, certificates from a test CA the gateway trusts through Direct:TrustRoots.
/// </summary>
public class DirectTransportTests
{
    private const string Sender = "office@smiledental.example";
    private static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: Front Desk <office@smiledental.example>\r\nTo: dr@x.test\r\nSubject: Referral\r\nMessage-ID: <direct-1@smiledental.example>\r\n\r\nPlease see the attached.\r\n");

    private TestDnsServer _dns = null!;
    private TestPolicyServer _policies = null!;
    private GatewayDatabase _database = null!;
    private TempDirectory _temp = null!;
    private string _trustRoots = null!;
    private int _port;
    private int _nextAddress = 10;

    [OneTimeSetUp]
    public async Task Start()
    {
        _dns = TestDnsServer.Start();
        _policies = await TestPolicyServer.StartAsync();
        _temp = new TempDirectory();
        _database = new GatewayDatabase(Path.Combine(_temp.Path, "gateway.db"));
        await _database.MigrateAsync(CancellationToken.None);
        _trustRoots = TestCertificates.WritePem(Path.Combine(_temp.Path, "roots.pem"), TestCertificates.Ca);
        _port = FreePort();
    }

    [OneTimeTearDown]
    public async Task Stop()
    {
        _dns.Dispose();
        await _policies.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _temp.Dispose();
    }

    [Test]
    public async Task DaneEe_TlsaMatchesTheMxKey_DeliversWithDaneEvenToASelfSignedCertificate()
    {
        using var certificate = TestCertificates.CreateServer(null, "mx.dane-ee.test");
        await using var mx = await MxAsync("dane-ee.test", "mx.dane-ee.test", certificate, signed: true,
            tlsa: (TlsaCertificateUsage.DaneEE, TlsaSelector.SubjectPublicKeyInfo, TlsaMatchingType.Sha256Hash, SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo())));

        var outcome = (await SendAsync("dr.lee@dane-ee.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.StartWith("DirectTls(dane) mx=mx.dane-ee.test tls=Tls1"));
        Assert.That(outcome.Method, Does.EndWith("cert=sha256:" + Convert.ToHexStringLower(SHA256.HashData(certificate.RawData))));
        var received = mx.Messages.Single();
        Assert.That((received.Secure, received.Sender, received.Recipients.Single()), Is.EqualTo((true, Sender, "dr.lee@dane-ee.test")));
        Assert.That(received.Data, Is.EqualTo(Message), "the copy arrives as queued");
    }

    [TestCase(true, RecipientStatus.Delivered)]
    [TestCase(false, RecipientStatus.Fallback)]
    public async Task DaneTa_TlsaMatchesTheAnchorTheMxPresents_UnderARootNobodyTrusts_DeliversOnlyToACertificateForTheMx(bool namesTheMx, RecipientStatus expected)
    {
        var domain = namesTheMx ? "dane-ta.test" : "dane-ta-name.test";
        var host = "mx." + domain;
        using var root = TestCertificates.CreateCa($"Untrusted Root {domain}", RSA.Create(2048));
        using var anchor = TestCertificates.CreateIntermediate($"DANE Anchor {domain}", root);
        using var certificate = TestCertificates.CreateServer(anchor, namesTheMx ? host : "mail.elsewhere.test");
        await using var mx = await MxAsync(domain, host, certificate, signed: true, chain: [anchor],
            tlsa: (TlsaCertificateUsage.DaneTA, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData(anchor.RawData)));

        var outcome = (await SendAsync("lab@" + domain)).Single();

        Assert.That(outcome.Status, Is.EqualTo(expected), outcome.Response);
        Assert.That(mx.Messages, Has.Count.EqualTo(namesTheMx ? 1 : 0));
        if (namesTheMx) Assert.That(outcome.Method, Does.StartWith($"DirectTls(dane) mx={host}"));
    }

    [Test]
    public async Task TlsaMismatch_IsNeverDowngradedToPkix_EvenWhenTheCertificateIsPkixValid()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.dane-bad.test");
        await using var mx = await MxAsync("dane-bad.test", "mx.dane-bad.test", certificate, signed: true,
            tlsa: (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData([1, 2, 3])));

        var outcome = (await SendAsync("dr@dane-bad.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Fallback));
        Assert.That(outcome.Response, Does.Contain("TLSA"));
        Assert.That(mx.Messages, Is.Empty, "nothing reached the MX whose certificate did not match");
    }

    [Test]
    public async Task TlsaInAnUnsignedZone_IsIgnored_AndPkixDecides()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.unsigned.test");
        await using var mx = await MxAsync("unsigned.test", "mx.unsigned.test", certificate, signed: false,
            tlsa: (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData([1, 2, 3])));

        var outcome = (await SendAsync("dr@unsigned.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.StartWith("DirectTls(pkix) mx=mx.unsigned.test"));
    }

    [Test]
    public async Task SignedZone_FromAResolverNotSaidToValidate_IsPkixOnly()
    {
        using var certificate = TestCertificates.CreateServer(null, "mx.unvalidated.test");
        await using var mx = await MxAsync("unvalidated.test", "mx.unvalidated.test", certificate, signed: true,
            tlsa: (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData(certificate.RawData)));

        var outcome = (await SendAsync(Options() with { ResolverValidatesDnssec = false }, "dr@unvalidated.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Fallback), "an AD bit nobody validated is not DANE, and the certificate is self-signed");
        Assert.That(mx.Messages, Is.Empty);
    }

    [Test]
    public async Task Pkix_CertificateFromATrustedRootForTheMxName_Delivers()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.pkix.test");
        await using var mx = await MxAsync("pkix.test", "mx.pkix.test", certificate, signed: false);

        var outcome = (await SendAsync("dr@pkix.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.StartWith("DirectTls(pkix) mx=mx.pkix.test"));
    }

    [Test]
    public async Task Pkix_WhenNotAccepted_FallsBackEvenForAValidCertificate()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.nopkix.test");
        await using var mx = await MxAsync("nopkix.test", "mx.nopkix.test", certificate, signed: false);

        var outcome = (await SendAsync(Options() with { AcceptPkix = false }, "dr@nopkix.test")).Single();

        Assert.That((outcome.Status, outcome.Response), Is.EqualTo((RecipientStatus.Fallback, "no MX with verified TLS: mx.nopkix.test: no DNSSEC-secure TLSA records, and Direct:AcceptPkix is false")));
        Assert.That(mx.SessionCount, Is.Zero, "not even connected");
    }

    [TestCase("selfsigned")]
    [TestCase("wrongname")]
    [TestCase("expired")]
    public async Task Pkix_CertificateThatDoesNotVerify_FallsBack_AndNothingIsSent(string kind)
    {
        var domain = $"{kind}.test";
        using var certificate = kind switch
        {
            "selfsigned" => TestCertificates.CreateServer(null, $"mx.{domain}"),
            "wrongname" => TestCertificates.CreateServer(TestCertificates.Ca, "mx.someone-else.test"),
            _ => TestCertificates.CreateServer(TestCertificates.Ca, DateTimeOffset.UtcNow.AddDays(-1), $"mx.{domain}"),
        };
        await using var mx = await MxAsync(domain, $"mx.{domain}", certificate, signed: false);

        var outcome = (await SendAsync($"dr@{domain}")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Fallback), outcome.Response);
        Assert.That(outcome.Response, Does.StartWith($"no MX with verified TLS: mx.{domain}: the certificate"));
        Assert.That(mx.Messages, Is.Empty);
    }

    [Test]
    public async Task MxWithoutStartTls_FallsBack_NeverPlaintext()
    {
        await using var mx = await MxAsync("plaintext.test", "mx.plaintext.test", null, signed: false, startTls: false);

        var outcome = (await SendAsync("dr@plaintext.test")).Single();

        Assert.That((outcome.Status, outcome.Response), Is.EqualTo((RecipientStatus.Fallback, "no MX with verified TLS: mx.plaintext.test: offers no STARTTLS")));
        Assert.That(mx.Messages, Is.Empty);
    }

    [Test]
    public async Task MxOfferingOnlyTls11_FallsBack_EvenWithAValidCertificate()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.oldtls.test");
        var address = NextAddress();
        _dns.Mx("oldtls.test", 10, "mx.oldtls.test").A("mx.oldtls.test", address.ToString());
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.1 on purpose: the MX this test plays is out of date.
        await using var mx = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            Address = address, Port = _port, Certificate = certificate, TlsProtocols = System.Security.Authentication.SslProtocols.Tls11,
        });
#pragma warning restore SYSLIB0039, CA5397

        var outcome = (await SendAsync("dr@oldtls.test")).Single();

        Assert.That((outcome.Status, outcome.Response), Is.EqualTo((RecipientStatus.Fallback,
            "no MX with verified TLS: mx.oldtls.test: the TLS handshake failed (TLS 1.2 or later is required)")));
        Assert.That(mx.Messages, Is.Empty);
    }

    [Test]
    public async Task FirstMxFailsVerification_TheNextInPreferenceOrderCarriesTheCopy()
    {
        using var bad = TestCertificates.CreateServer(null, "mx1.twomx.test");
        using var good = TestCertificates.CreateServer(TestCertificates.Ca, "mx2.twomx.test");
        await using var first = await MxAsync("twomx.test", "mx1.twomx.test", bad, signed: false, preference: 10);
        await using var second = await MxAsync("twomx.test", "mx2.twomx.test", good, signed: false, preference: 20);

        var outcome = (await SendAsync("dr@twomx.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.Contain("mx=mx2.twomx.test"));
        Assert.That((first.Messages.Count, second.Messages.Count), Is.EqualTo((0, 1)));
    }

    [Test]
    public async Task WebmailInThePreventList_FallsBack_WithoutAsking()
    {
        var outcomes = await SendAsync("patient@gmail.com", "someone@clinic-mail.test");

        Assert.That(outcomes.Select(o => (o.Status, o.Response)), Is.EqualTo(new[]
        {
            (RecipientStatus.Fallback, "the domain is in Direct:TlsPreventDomains"),
            (RecipientStatus.Fallback, "the domain is in Direct:TlsPreventDomains"),
        }));
        Assert.That(_dns.Queries("gmail.com", RecordType.Mx) + _dns.Queries("clinic-mail.test", RecordType.Mx), Is.Zero);
    }

    [Test]
    public async Task DnsTimeout_DefersTheCopy_ThenFallsBackOnceItPersistsPastFallbackAfter()
    {
        _dns.Mx("silent.test", 10, "mx.silent.test").Silent("silent.test");

        var now = (await SendAsync(Options(), DateTimeOffset.UtcNow, "dr@silent.test")).Single();
        var later = (await SendAsync(Options(), DateTimeOffset.UtcNow - TimeSpan.FromHours(5), "dr@silent.test")).Single();

        Assert.That((now.Status, now.Response), Is.EqualTo((RecipientStatus.Deferred, "the MX lookup failed; trying again later")));
        Assert.That(later.Status, Is.EqualTo(RecipientStatus.Fallback), "queued 5 hours ago, past the 4 hours of Direct:FallbackAfter");
        Assert.That(later.Response, Does.EndWith("the MX lookup failed; trying again later"));
    }

    [Test]
    public async Task UnknownDomain_Fails_AndANullMx_Fails()
    {
        _dns.Add("nullmx.test", new MxRecord(ARSoft.Tools.Net.DomainName.Parse("nullmx.test"), 300, 0, ARSoft.Tools.Net.DomainName.Root));

        var outcomes = await SendAsync("dr@nowhere-at-all.test", "dr@nullmx.test");

        Assert.That(outcomes.Select(o => (o.Status, o.Code)), Is.EqualTo(new[] { (RecipientStatus.Failed, 550), (RecipientStatus.Failed, 556) }));
    }

    [Test]
    public async Task DomainWithoutMx_IsItsOwnMailHost()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "implicit.test");
        var address = NextAddress();
        _dns.A("implicit.test", address.ToString());
        await using var mx = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = address, Port = _port, Certificate = certificate });

        var outcome = (await SendAsync("dr@implicit.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.Contain("mx=implicit.test"));
    }

    [Test]
    public async Task MxRefusesOneRecipient_ThatOneFails_TheOtherIsDelivered()
    {
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.refuses.test");
        await using var mx = await MxAsync("refuses.test", "mx.refuses.test", certificate, signed: false,
            recipientReply: (to, _) => to.StartsWith("gone", StringComparison.Ordinal) ? new FakeReply(550, "5.1.1 no such user") : null);

        var outcomes = await SendAsync("gone@refuses.test", "dr@refuses.test");

        Assert.That(outcomes.Select(o => (o.Recipient, o.Status, o.Code)), Is.EqualTo(new[]
        {
            ("gone@refuses.test", RecipientStatus.Failed, 550),
            ("dr@refuses.test", RecipientStatus.Delivered, 250),
        }));
        Assert.That(mx.Messages.Single().Recipients, Is.EqualTo(new[] { "dr@refuses.test" }));
    }

    [Test]
    public async Task RecipientsOfTwoDomains_EachDomainGetsItsOwnMethod_AndOneFallbackLeavesTheOtherAlone()
    {
        using var good = TestCertificates.CreateServer(TestCertificates.Ca, "mx.first.test");
        using var bad = TestCertificates.CreateServer(null, "mx.second.test");
        await using var first = await MxAsync("first.test", "mx.first.test", good, signed: false);
        await using var second = await MxAsync("second.test", "mx.second.test", bad, signed: false);

        var outcomes = await SendAsync("a@first.test", "b@second.test");

        Assert.That(outcomes.Select(o => (o.Recipient, o.Status)), Is.EqualTo(new[] { ("a@first.test", RecipientStatus.Delivered), ("b@second.test", RecipientStatus.Fallback) }));
        Assert.That(first.Messages.Single().Recipients, Is.EqualTo(new[] { "a@first.test" }));
        Assert.That(second.Messages, Is.Empty);
    }

    private static string Enforce(string mx) => $"version: STSv1\r\nmode: enforce\r\nmx: {mx}\r\nmax_age: 86400\r\n";

    /// <summary>An MX with a PKIX-valid certificate and an MTA-STS policy for its domain (TXT record, policy host).</summary>
    private async Task<FakeSmtpUpstream> StsMxAsync(string domain, string policy, string contentType = "text/plain", int status = 200, string? redirectTo = null,
        string id = "20261207")
    {
        var certificate = TestCertificates.CreateServer(TestCertificates.Ca, $"mx.{domain}");
        _policies.Serve(domain, policy, contentType, status, redirectTo);
        _dns.A($"mta-sts.{domain}", "127.0.0.1").Txt($"_mta-sts.{domain}", $"v=STSv1; id={id};");
        return await MxAsync(domain, $"mx.{domain}", certificate, signed: false);
    }

    [Test]
    public async Task MtaStsEnforce_MxMatchesThePolicy_DeliversAsMtaSts_EvenWithPkixAloneNotAccepted()
    {
        await using var mx = await StsMxAsync("sts-enforce.test", Enforce("*.sts-enforce.test"));

        var outcome = (await SendAsync(Options() with { AcceptPkix = false }, "dr@sts-enforce.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(outcome.Method, Does.StartWith("DirectTls(mta-sts) mx=mx.sts-enforce.test"));
        Assert.That(_policies.Fetches("sts-enforce.test"), Is.EqualTo(1));
    }

    [Test]
    public async Task MtaStsEnforce_MxOutsideThePolicy_IsNotUsed_ThoughItsCertificateIsValid()
    {
        await using var mx = await StsMxAsync("sts-outside.test", Enforce("mail.elsewhere.test"));

        var outcome = (await SendAsync("dr@sts-outside.test")).Single();

        Assert.That((outcome.Status, outcome.Response), Is.EqualTo((RecipientStatus.Fallback,
            "no MX with verified TLS: mx.sts-outside.test: not an mx of the domain's MTA-STS policy (enforce)")));
        Assert.That(mx.SessionCount, Is.Zero);
    }

    [TestCase("testing", "text/plain", 200, null)]
    [TestCase("enforce", "text/html", 200, null)]
    [TestCase("enforce", "text/plain", 302, "https://mta-sts.elsewhere.test/.well-known/mta-sts.txt")]
    [TestCase("enforce", "text/plain", 404, null)]
    public async Task MtaStsPolicyNotInForce_TestingRedirectHtmlOrMissing_PkixDecides(string mode, string contentType, int status, string? redirectTo)
    {
        var domain = $"sts-{mode}-{status}-{contentType.Replace('/', '-')}.test";
        // A policy that would refuse the MX if it were in force.
        var policy = $"version: STSv1\r\nmode: {mode}\r\nmx: mail.elsewhere.test\r\nmax_age: 86400\r\n";
        await using var mx = await StsMxAsync(domain, policy, contentType, status, redirectTo);

        var pkix = (await SendAsync($"dr@{domain}")).Single();
        var strict = (await SendAsync(Options() with { AcceptPkix = false }, $"dr@{domain}")).Single();

        Assert.That(pkix.Status, Is.EqualTo(RecipientStatus.Delivered), pkix.Response);
        Assert.That(pkix.Method, Does.StartWith("DirectTls(pkix)"), "the policy is not in force: PKIX is all there is");
        Assert.That(strict.Status, Is.EqualTo(RecipientStatus.Fallback), "and without PKIX nothing verifies");
    }

    [Test]
    public async Task MtaStsPolicy_OneTxtLookupAndOneFetchPerDomain_KeptAcrossRestart_AndWhenTheTxtRecordGoes()
    {
        await using var mx = await StsMxAsync("sts-cache.test", Enforce("mx.sts-cache.test"));
        var options = Options() with { AcceptPkix = false };
        var dns = new DnsLookup(options);
        using (var policies = Policies(options, dns))
        {
            for (var i = 0; i < 3; i++)
                Assert.That((await SendAsync(options, dns, policies, DateTimeOffset.UtcNow, "dr@sts-cache.test")).Single().Method, Does.StartWith("DirectTls(mta-sts)"));
        }
        Assert.That((_dns.Queries("_mta-sts.sts-cache.test", RecordType.Txt), _policies.Fetches("sts-cache.test")), Is.EqualTo((1, 1)),
            "three copies: one TXT lookup, one policy fetch");

        // A restart: the memory is new, the stored policy is not. Its id is unchanged: no fetch.
        using (var restarted = Policies(options, dns))
            Assert.That((await SendAsync(options, dns, restarted, DateTimeOffset.UtcNow, "dr@sts-cache.test")).Single().Method, Does.StartWith("DirectTls(mta-sts)"));
        Assert.That((_dns.Queries("_mta-sts.sts-cache.test", RecordType.Txt), _policies.Fetches("sts-cache.test")), Is.EqualTo((2, 1)));

        // The TXT record goes (an attacker suppressing it, say): the unexpired policy stays in force.
        _dns.Remove("_mta-sts.sts-cache.test");
        _policies.Serve("sts-cache.test", "gone", status: 404);
        using (var later = Policies(options, dns))
            Assert.That((await SendAsync(options, dns, later, DateTimeOffset.UtcNow, "dr@sts-cache.test")).Single().Method, Does.StartWith("DirectTls(mta-sts)"),
                "with AcceptPkix off, only the cached policy can verify this MX");
        Assert.That(_policies.Fetches("sts-cache.test"), Is.EqualTo(1));
    }

    [TestCase("60", "00:05:00", "365.00:00:00", 300)]
    [TestCase("31557600", "00:05:00", "7.00:00:00", 604800)]
    [TestCase("86400", "00:05:00", "365.00:00:00", 86400)]
    public async Task MtaStsPolicy_KeptForItsMaxAge_WithinTheConfiguredLifetimeBounds(string maxAge, string min, string max, long keptSeconds)
    {
        var domain = $"sts-age-{maxAge}-{keptSeconds}.test";
        await using var mx = await StsMxAsync(domain, $"version: STSv1\r\nmode: enforce\r\nmx: mx.{domain}\r\nmax_age: {maxAge}\r\n");
        var options = Options() with
        {
            PolicyMinLifetime = TimeSpan.Parse(min, System.Globalization.CultureInfo.InvariantCulture),
            PolicyMaxLifetime = TimeSpan.Parse(max, System.Globalization.CultureInfo.InvariantCulture),
        };

        Assert.That((await SendAsync(options, $"dr@{domain}")).Single().Method, Does.StartWith("DirectTls(mta-sts)"));

        var stored = await new SqlMtaStsPolicyStore(_database).FindAsync(domain, CancellationToken.None);
        Assert.That(stored!.MaxAge, Is.EqualTo(TimeSpan.FromSeconds(keptSeconds)));
    }

    [Test]
    public async Task MtaStsPolicy_NewId_IsFetchedAgain_AndANewerPolicyReplacesTheOld()
    {
        await using var mx = await StsMxAsync("sts-change.test", Enforce("mx.sts-change.test"), id: "1");
        Assert.That((await SendAsync("dr@sts-change.test")).Single().Method, Does.StartWith("DirectTls(mta-sts)"));

        _dns.Remove("_mta-sts.sts-change.test").Txt("_mta-sts.sts-change.test", "v=STSv1; id=2;");
        _policies.Serve("sts-change.test", Enforce("mail.elsewhere.test"));
        var outcome = (await SendAsync("dr@sts-change.test")).Single();

        Assert.That(_policies.Fetches("sts-change.test"), Is.EqualTo(2));
        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Fallback), "the new policy no longer lists this MX");
    }

    private DirectOptions Options() => new()
    {
        Enabled = true,
        Resolver = _dns.Resolver,
        ResolverValidatesDnssec = true,
        SmtpPort = _port,
        HeloName = "gateway.smiledental.example",
        TrustRoots = [_trustRoots],
        DnsTimeout = TimeSpan.FromMilliseconds(500),
        PolicyPort = _policies.Port,
        Timeout = TimeSpan.FromSeconds(10),
        TlsPreventDomains = ["clinic-mail.test"],
    };

    private Task<IReadOnlyList<RecipientOutcome>> SendAsync(params string[] recipients) => SendAsync(Options(), recipients);

    private Task<IReadOnlyList<RecipientOutcome>> SendAsync(DirectOptions options, params string[] recipients) => SendAsync(options, DateTimeOffset.UtcNow, recipients);

    private async Task<IReadOnlyList<RecipientOutcome>> SendAsync(DirectOptions options, DateTimeOffset queuedAt, params string[] recipients)
    {
        var dns = new DnsLookup(options);
        using var policies = Policies(options, dns);
        return await SendAsync(options, dns, policies, queuedAt, recipients);
    }

    /// <summary>The MTA-STS cache as the gateway has it: its memory this instance's, its store the fixture's database.</summary>
    private MtaStsPolicies Policies(DirectOptions options, DnsLookup dns) =>
        new(options, dns, MxCertificateCheck.For(options), new SqlMtaStsPolicyStore(_database), TimeProvider.System, NullLogger<MtaStsPolicies>.Instance);

    private static async Task<IReadOnlyList<RecipientOutcome>> SendAsync(DirectOptions options, DnsLookup dns, MtaStsPolicies policies, DateTimeOffset queuedAt,
        params string[] recipients)
    {
        var transport = new DirectTransport(options, new GatewayOptions(), dns, MxCertificateCheck.For(options), policies, TimeProvider.System, NullLogger<DirectTransport>.Instance);
        return await transport.SendAsync(new RelayRequest("01TEST-1", Sender, recipients, () => new MemoryStream(Message), RequireTls: false, queuedAt), CancellationToken.None);
    }

    /// <summary>An MX for <paramref name="domain"/> on a loopback address of its own, with its DNS records.</summary>
    private async Task<FakeSmtpUpstream> MxAsync(string domain, string host, X509Certificate2? certificate, bool signed,
        (TlsaCertificateUsage, TlsaSelector, TlsaMatchingType, byte[])? tlsa = null, X509Certificate2[]? chain = null, bool startTls = true,
        int preference = 10, Func<string, int, FakeReply?>? recipientReply = null)
    {
        var address = NextAddress();
        _dns.Mx(domain, preference, host).A(host, address.ToString());
        if (tlsa is var (usage, selector, matching, data)) _dns.Tlsa(host, _port, usage, selector, matching, data);
        if (signed) _dns.Sign(domain);
        return await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            Address = address,
            Port = _port,
            Certificate = certificate,
            CertificateChain = chain,
            StartTls = startTls,
            RecipientReply = recipientReply,
        });
    }

    private IPAddress NextAddress() => IPAddress.Parse($"127.0.0.{Interlocked.Increment(ref _nextAddress)}");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
