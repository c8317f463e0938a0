using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.TestKit;
using static ARSoft.Tools.Net.Dns.TlsaRecord;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>
/// TLS-first over SMTP, end to end: Outlook-like client → gateway → each recipient domain's own MX
/// (real SMTP servers on 127.0.0.x, found through a real DNS server), the fallback copy a pickup
/// notice through the smarthost.
/// </summary>
public class DirectEndToEndTests
{
    private static int _nextAddress = 100;

    [Test]
    public async Task OneMessageToThreeDomains_DaneAndPkixGoDirect_TheUnverifiableOneGetsAPickupNotice()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        var port = FreePort();
        using var daneCertificate = TestCertificates.CreateServer(null, "mx.endo-partners.test");
        using var pkixCertificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.ortho-lab.test");
        using var selfSigned = TestCertificates.CreateServer(null, "mx.imaging-center.test");
        await using var dane = await MxAsync(dns, port, "endo-partners.test", daneCertificate, signed: true,
            (TlsaCertificateUsage.DaneEE, TlsaSelector.SubjectPublicKeyInfo, TlsaMatchingType.Sha256Hash, SHA256.HashData(daneCertificate.PublicKey.ExportSubjectPublicKeyInfo())));
        await using var pkix = await MxAsync(dns, port, "ortho-lab.test", pkixCertificate, signed: false);
        await using var unverifiable = await MxAsync(dns, port, "imaging-center.test", selfSigned, signed: false);
        await using var bed = await PickupTestBed.StartAsync(DirectOn(dns, port, temp, ("Direct:ResolverValidatesDnssec", "true"), ("Direct:DnsTimeout", "00:00:02")));
        var image = DentalCorpus.PanoramicJpeg();
        var wire = PickupTestBed.Wire(PickupTestBed.XrayMessage(image, subject: "Referral, panoramic attached"));

        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway, wire, "dr.lee@endo-partners.test", "lab@ortho-lab.test", "desk@imaging-center.test");

        var notice = await bed.WaitForNoticeAsync("desk@imaging-center.test");
        await dane.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        await pkix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        AssertAsWrittenBelowTrace(dane.Messages.Single().Data, wire);
        AssertAsWrittenBelowTrace(pkix.Messages.Single().Data, wire);
        Assert.That((dane.Messages.Single().Secure, pkix.Messages.Single().Secure), Is.EqualTo((true, true)));
        Assert.That(unverifiable.Messages, Is.Empty, "nothing reached the MX whose certificate did not verify");
        Assert.That(notice.Parsed.Attachments, Is.Empty, "the fallback is a notice without the image");
        Assert.That(PickupTestBed.Text(notice.Notice), Does.Not.Contain(Convert.ToBase64String(image.AsSpan(1000, 300))));
        Assert.That(bed.Upstream.Messages.SelectMany(m => m.Recipients), Does.Not.Contain("dr.lee@endo-partners.test").And.Not.Contain("lab@ortho-lab.test"),
            "the directly delivered copies never went through the smarthost");

        // The audit says how each copy went, before the message is done.
        await RelayEndToEndTests.WaitUntilAsync(async () => await bed.QueryAsync<long>(
            "SELECT COUNT(*) FROM audit_events WHERE queue_id = @queueId AND type IN ('Relayed', 'FellBack')", new { queueId }) >= 4, "the audit holds every outcome");
        var details = await RowsAsync<(string Type, string Recipient, string Detail)>(bed,
            "SELECT type, recipient, detail FROM audit_events WHERE queue_id = @queueId AND type IN ('Relayed', 'FellBack') ORDER BY seq", new { queueId });
        Assert.That(details.Single(d => d.Recipient == "dr.lee@endo-partners.test").Detail, Does.StartWith("DirectTls(dane) mx=mx.endo-partners.test tls=Tls1"));
        Assert.That(details.Single(d => d.Recipient == "lab@ortho-lab.test").Detail, Does.StartWith("DirectTls(pkix) mx=mx.ortho-lab.test"));
        var unverified = details.Where(d => d.Recipient == "desk@imaging-center.test").ToList();
        Assert.That(unverified.Select(d => d.Type), Is.EqualTo(new[] { AuditEventTypes.FellBack, AuditEventTypes.Relayed }),
            "the TLS-first copy fell back, then its pickup notice was relayed");
        Assert.That(unverified[0].Detail, Does.StartWith("fallback: no MX with verified TLS: mx.imaging-center.test: the certificate"));
        var disclosures = await RowsAsync<(string Recipient, string Action)>(bed,
            "SELECT recipient, action FROM disclosures WHERE queue_id = @queueId ORDER BY seq", new { queueId });
        Assert.That(disclosures.Where(d => d.Recipient == "desk@imaging-center.test").Select(d => d.Action), Is.EqualTo(new[] { "TlsFirst", "Pickup" }),
            "a disclosure record for the TLS-first copy, then one for the pickup copy that replaced it");
    }

    [Test]
    public async Task OneMessageToSixDomains_EachGetsItsOwnMethodOrFallback_OverSmtp()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        await using var policies = await TestPolicyServer.StartAsync();
        var port = FreePort();
        using var root = TestCertificates.CreateCa("Untrusted Root E2E", RSA.Create(2048));
        using var anchor = TestCertificates.CreateIntermediate("DANE Anchor E2E", root);
        using var daneTa = TestCertificates.CreateServer(anchor, "mx.ta-lab.test");
        using var stsCertificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.sts-clinic.test");
        using var mismatched = TestCertificates.CreateServer(TestCertificates.Ca, "mx.tlsa-bad.test");
        using var outside = TestCertificates.CreateServer(TestCertificates.Ca, "mx.sts-outside.test");
        await using var ta = await MxAsync(dns, port, "ta-lab.test", daneTa, signed: true,
            (TlsaCertificateUsage.DaneTA, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData(anchor.RawData)), chain: [anchor]);
        await using var sts = await MxAsync(dns, port, "sts-clinic.test", stsCertificate, signed: false);
        policies.Serve("sts-clinic.test", "version: STSv1\r\nmode: enforce\r\nmx: *.sts-clinic.test\r\nmax_age: 86400\r\n");
        dns.A("mta-sts.sts-clinic.test", "127.0.0.1").Txt("_mta-sts.sts-clinic.test", "v=STSv1; id=1;");
        await using var bad = await MxAsync(dns, port, "tlsa-bad.test", mismatched, signed: true,
            (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData([9, 9, 9])));
        await using var notListed = await MxAsync(dns, port, "sts-outside.test", outside, signed: false);
        policies.Serve("sts-outside.test", "version: STSv1\r\nmode: enforce\r\nmx: mail.elsewhere.test\r\nmax_age: 86400\r\n");
        dns.A("mta-sts.sts-outside.test", "127.0.0.1").Txt("_mta-sts.sts-outside.test", "v=STSv1; id=1;");
        // DANE says TLS is there; the MX offers no STARTTLS (a downgrade attempt, or a broken MX).
        await using var plain = await MxAsync(dns, port, "no-tls.test", null, signed: true,
            (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData([7, 7, 7])), startTls: false);
        await using var bed = await PickupTestBed.StartAsync(DirectOn(dns, port, temp, ("Direct:ResolverValidatesDnssec", "true"),
            ("Direct:PolicyPort", policies.Port.ToString(CultureInfo.InvariantCulture)), ("Direct:AcceptPkix", "false"), ("Direct:DnsTimeout", "00:00:02")));
        string[] to = ["lab@ta-lab.test", "dr@sts-clinic.test", "dr@tlsa-bad.test", "dr@sts-outside.test", "dr@no-tls.test", "patient@gmail.com"];

        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway,
            PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "Referral")), to);

        foreach (var recipient in to[2..]) await bed.WaitForNoticeAsync(recipient);
        await ta.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        await sts.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        Assert.That((bad.Messages.Count, notListed.Messages.Count, plain.Messages.Count), Is.EqualTo((0, 0, 0)), "no copy to an MX that did not verify");
        var outcomes = await TlsFirstOutcomesAsync(bed, queueId, 6);
        Assert.That(outcomes["lab@ta-lab.test"], Is.EqualTo("DirectTls(dane)"));
        Assert.That(outcomes["dr@sts-clinic.test"], Is.EqualTo("DirectTls(mta-sts)"));
        Assert.That(outcomes["dr@tlsa-bad.test"], Does.Contain("the certificate matches none of the MX's TLSA records"));
        Assert.That(outcomes["dr@sts-outside.test"], Does.Contain("not an mx of the domain's MTA-STS policy (enforce)"));
        Assert.That(outcomes["dr@no-tls.test"], Does.Contain("offers no STARTTLS"));
        Assert.That(outcomes["patient@gmail.com"], Does.Contain("the domain is in Direct:TlsPreventDomains"));
    }

    [Test]
    public async Task OneMessageToSevenDomains_BadCertificatesAndOldTlsFallBack_PoliciesNotInForceAndUnsignedTlsaLeavePkixToDecide_OverSmtp()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        await using var policies = await TestPolicyServer.StartAsync();
        var port = FreePort();
        using var expired = TestCertificates.CreateServer(TestCertificates.Ca, DateTimeOffset.UtcNow.AddDays(-1), "mx.expired-cert.test");
        using var wrongName = TestCertificates.CreateServer(TestCertificates.Ca, "mx.someone-else.test");
        using var oldTlsCertificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.old-tls.test");
        await using var expiredMx = await MxAsync(dns, port, "expired-cert.test", expired, signed: false);
        await using var wrongNameMx = await MxAsync(dns, port, "wrong-name.test", wrongName, signed: false);
#pragma warning disable SYSLIB0039, CA5397 // TLS 1.1 on purpose: the MX this test plays is out of date.
        await using var oldTlsMx = await MxAsync(dns, port, "old-tls.test", oldTlsCertificate, signed: false, protocols: System.Security.Authentication.SslProtocols.Tls11);
#pragma warning restore SYSLIB0039, CA5397
        // TLSA records that match nothing, in a zone that is not signed: not DANE, so they are ignored.
        using var unsignedTlsaCertificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.tlsa-unsigned.test");
        await using var unsignedTlsaMx = await MxAsync(dns, port, "tlsa-unsigned.test", unsignedTlsaCertificate, signed: false,
            (TlsaCertificateUsage.DaneEE, TlsaSelector.FullCertificate, TlsaMatchingType.Sha256Hash, SHA256.HashData([5, 5, 5])));
        // Each policy would refuse its MX were it in force; none is (testing mode, a redirect, an HTML page).
        var policyMxs = new List<FakeSmtpUpstream>();
        foreach (var (domain, mode, contentType, status, redirect) in new[]
                 {
                     ("sts-testing.test", "testing", "text/plain", 200, (string?)null),
                     ("sts-redirect.test", "enforce", "text/plain", 302, "https://mta-sts.elsewhere.test/.well-known/mta-sts.txt"),
                     ("sts-html.test", "enforce", "text/html", 200, null),
                 })
        {
            policies.Serve(domain, $"version: STSv1\r\nmode: {mode}\r\nmx: mail.elsewhere.test\r\nmax_age: 86400\r\n", contentType, status, redirect);
            dns.A($"mta-sts.{domain}", "127.0.0.1").Txt($"_mta-sts.{domain}", "v=STSv1; id=1;");
            policyMxs.Add(await MxAsync(dns, port, domain, TestCertificates.CreateServer(TestCertificates.Ca, $"mx.{domain}"), signed: false));
        }
        try
        {
            await using var bed = await PickupTestBed.StartAsync(DirectOn(dns, port, temp,
                ("Direct:PolicyPort", policies.Port.ToString(CultureInfo.InvariantCulture)), ("Direct:ResolverValidatesDnssec", "true"), ("Direct:DnsTimeout", "00:00:02")));
            string[] fallBack = ["dr@expired-cert.test", "dr@wrong-name.test", "dr@old-tls.test"];
            string[] direct = ["dr@sts-testing.test", "dr@sts-redirect.test", "dr@sts-html.test", "dr@tlsa-unsigned.test"];

            var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway,
                PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "Referral")), [.. fallBack, .. direct]);

            foreach (var recipient in fallBack) Assert.That((await bed.WaitForNoticeAsync(recipient)).Parsed.Attachments, Is.Empty, recipient);
            foreach (var mx in policyMxs.Append(unsignedTlsaMx)) await mx.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
            Assert.That((expiredMx.Messages.Count, wrongNameMx.Messages.Count, oldTlsMx.Messages.Count), Is.EqualTo((0, 0, 0)), "no copy to an MX that did not verify");
            var outcomes = await TlsFirstOutcomesAsync(bed, queueId, 7);
            Assert.That(outcomes["dr@expired-cert.test"], Does.StartWith("fallback: no MX with verified TLS: mx.expired-cert.test: the certificate"));
            Assert.That(outcomes["dr@wrong-name.test"], Does.StartWith("fallback: no MX with verified TLS: mx.wrong-name.test: the certificate"));
            Assert.That(outcomes["dr@old-tls.test"], Is.EqualTo("fallback: no MX with verified TLS: mx.old-tls.test: the TLS handshake failed (TLS 1.2 or later is required)"));
            foreach (var recipient in direct) Assert.That(outcomes[recipient], Is.EqualTo("DirectTls(pkix)"), recipient + ": neither the policy nor the TLSA records are in force, PKIX decides");
        }
        finally
        {
            foreach (var mx in policyMxs) await mx.DisposeAsync();
        }
    }

    [Test]
    public async Task ThreeMessagesToAnEnforcedMtaStsDomain_OnePolicyFetch_AndAfterARestartNoneWhileItsIdStands()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        await using var policies = await TestPolicyServer.StartAsync();
        var port = FreePort();
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.sts-cached.test");
        await using var mx = await MxAsync(dns, port, "sts-cached.test", certificate, signed: false);
        policies.Serve("sts-cached.test", "version: STSv1\r\nmode: enforce\r\nmx: mx.sts-cached.test\r\nmax_age: 86400\r\n");
        dns.A("mta-sts.sts-cached.test", "127.0.0.1").Txt("_mta-sts.sts-cached.test", "v=STSv1; id=7;");
        var settings = DirectOn(dns, port, temp, ("Direct:PolicyPort", policies.Port.ToString(CultureInfo.InvariantCulture)), ("Direct:AcceptPkix", "false"),
            ("Gateway:DataDirectory", Path.Combine(temp.Path, "data")));
        var wire = PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "Referral"));

        await using (var bed = await PickupTestBed.StartAsync(settings))
        {
            for (var i = 0; i < 3; i++)
            {
                await RelayEndToEndTests.SubmitAsync(bed.Gateway, wire, "dr@sts-cached.test");
                await mx.WaitForMessagesAsync(i + 1, TimeSpan.FromSeconds(20));
            }
        }
        Assert.That((dns.Queries("_mta-sts.sts-cached.test", ARSoft.Tools.Net.Dns.RecordType.Txt), policies.Fetches("sts-cached.test")), Is.EqualTo((1, 1)),
            "three messages, one DNS round for the policy id and one policy fetch");

        await using (var restarted = await PickupTestBed.StartAsync(settings))
        {
            var queueId = await RelayEndToEndTests.SubmitAsync(restarted.Gateway, wire, "dr@sts-cached.test");
            await mx.WaitForMessagesAsync(4, TimeSpan.FromSeconds(20));
            await RelayEndToEndTests.WaitUntilAsync(async () => (await RowsAsync<string>(restarted,
                "SELECT detail FROM audit_events WHERE queue_id = @queueId AND type = 'Relayed'", new { queueId })).Count == 1, "the copy's outcome is in the audit");
            Assert.That((await RowsAsync<string>(restarted, "SELECT detail FROM audit_events WHERE queue_id = @queueId AND type = 'Relayed'", new { queueId })).Single(),
                Does.StartWith("DirectTls(mta-sts) mx=mx.sts-cached.test"), "the stored policy is in force after the restart");
        }
        Assert.That((dns.Queries("_mta-sts.sts-cached.test", ARSoft.Tools.Net.Dns.RecordType.Txt), policies.Fetches("sts-cached.test")), Is.EqualTo((2, 1)),
            "after the restart its id is asked once more; the policy stored before it is used, since the id did not change");
        Assert.That(mx.Messages.All(m => m.Secure), Is.True);
    }

    /// <summary>Direct delivery on, asking <paramref name="dns"/>, to MXs on <paramref name="port"/> that the test CA vouches for; <paramref name="more"/> added.</summary>
    private static Dictionary<string, string?> DirectOn(TestDnsServer dns, int port, TempDirectory temp, params (string Key, string? Value)[] more)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Direct:Enabled"] = "true",
            ["Direct:Resolver"] = dns.Resolver,
            ["Direct:SmtpPort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Direct:TrustRoots:0"] = TestCertificates.WritePem(Path.Combine(temp.Path, "roots.pem"), TestCertificates.Ca),
        };
        foreach (var (key, value) in more) settings[key] = value;
        return settings;
    }

    /// <summary>The shipped rules with images-tls-first's action and fallback replaced (a blank fallback says none).</summary>
    private static (string Key, string? Value)[] HoldRules(string action, string? fallback) =>
        [("Rules:1:Action", action), ("Rules:1:Fallback", fallback ?? "")];

    [Test]
    public async Task FallbackHold_UnverifiableMx_HoldsThatCopyForTheSender_SendAnywayGoesByPickupLink_NeverToThatMx()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        var port = FreePort();
        using var pkixCertificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.ortho-lab.test");
        using var selfSigned = TestCertificates.CreateServer(null, "mx.imaging-center.test");
        await using var pkix = await MxAsync(dns, port, "ortho-lab.test", pkixCertificate, signed: false);
        await using var unverifiable = await MxAsync(dns, port, "imaging-center.test", selfSigned, signed: false);
        await using var bed = await PickupTestBed.StartAsync(DirectOn(dns, port, temp, HoldRules("TlsFirst", "Hold")));
        const string desk = "desk@imaging-center.test";
        var image = DentalCorpus.PanoramicJpeg();

        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway,
            PickupTestBed.Wire(PickupTestBed.XrayMessage(image, subject: "Referral")), "lab@ortho-lab.test", desk);

        var heldNotice = await GuardEndToEndTests.WaitForSenderMailAsync(bed, GuardNotices.HeldSubject);
        await pkix.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        var text = PickupTestBed.Parse(heldNotice).TextBody ?? "";
        Assert.That(text, Does.Contain(desk).And.Contain("its mail server's encryption could not be verified (no MX with verified TLS: mx.imaging-center.test: the certificate"),
            "the sender hears which address waits, and why");
        Assert.That(text, Does.Contain("To send it as a secure pickup link").And.Not.Contain("may be a mistake"), "a rule held it, not a suspected wrong address");
        var tlsFirstCopy = await bed.QueryAsync<string>("SELECT delivery_id FROM deliveries WHERE queue_id = @queueId AND action = 'TlsFirst' AND delivery_id IN (SELECT delivery_id FROM delivery_recipients WHERE recipient = @desk)", new { queueId, desk });
        var hold = await bed.Gateway.Services.GetRequiredService<IGuardHolds>().FindAsync(tlsFirstCopy + "-H1", CancellationToken.None);
        Assert.That((hold?.Recipient, hold?.State, hold?.Checks), Is.EqualTo((desk, GuardHoldStates.Held, "RuleHold")), "the fallback is a held copy, named after the TLS-first copy");
        Assert.That(bed.Upstream.Messages.Where(m => m.Recipients.Contains(desk)), Is.Empty, "no pickup notice while it is held");
        Assert.That(unverifiable.Messages, Is.Empty);
        var events = await RowsAsync<string>(bed, "SELECT type FROM audit_events WHERE queue_id = @queueId AND recipient = @desk AND type <> 'GuardFlagged' ORDER BY seq", new { queueId, desk });
        Assert.That(events, Is.EqualTo(new[] { AuditEventTypes.FellBack, AuditEventTypes.GuardHeld }), "it fell back, and the fallback held it (the arrival's new-recipient flag aside)");
        var sessionsBeforeRelease = unverifiable.SessionCount;

        using var client = bed.Client();
        var token = GuardEndToEndTests.GuardToken(heldNotice);
        var page = await client.GetStringAsync($"/g/{token}");
        Assert.That(page, Does.Contain("Your message is waiting for you").And.Contain("a rule of the practice asks you first").And.Contain("Why it should go"));
        Assert.That(page, Does.Not.Contain("because the address may be a mistake").And.Not.Contain("Why this address is right"), "the sender's page, too, says a rule held it");
        var answer = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/send", ("hold", hold!.HoldId));
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));

        var notice = await bed.WaitForNoticeAsync(desk);
        Assert.That(notice.Parsed.Attachments, Is.Empty, "released, it goes as a pickup notice without the image");
        Assert.That(PickupTestBed.Text(notice.Notice), Does.Not.Contain(Convert.ToBase64String(image.AsSpan(1000, 300))));
        await GuardEndToEndTests.WaitForMessageDoneAsync(bed, queueId);
        Assert.That((unverifiable.Messages.Count, unverifiable.SessionCount), Is.EqualTo((0, sessionsBeforeRelease)), "the released copy is not tried directly again");
        Assert.That(bed.Upstream.Messages.Count(m => m.Recipients.Contains(desk)), Is.EqualTo(1), "one pickup notice");
        var disclosures = await RowsAsync<string>(bed, "SELECT action FROM disclosures WHERE queue_id = @queueId AND recipient = @desk ORDER BY seq", new { queueId, desk });
        Assert.That(disclosures, Is.EqualTo(new[] { "TlsFirst", "Pickup" }), "a record for the TLS-first copy, then one for the released pickup copy");
    }

    [TestCase("TlsFirst", "Hold", "the gateway does not deliver straight to mail servers yet")]
    [TestCase("Hold", null, "the practice's rule images-tls-first asks you to confirm first")]
    public async Task RuleHold_WithDirectDeliveryOff_HoldsOnArrival_AndItsReleaseByItSendsThePickupLinkOnce(string action, string? fallback, string reason)
    {
        await using var bed = await PickupTestBed.StartAsync(HoldRules(action, fallback).ToDictionary(kv => kv.Key, kv => kv.Value));
        const string to = "dr.lee@specialist.example";

        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway, PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg())), to);

        var heldNotice = PickupTestBed.Parse(await GuardEndToEndTests.WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        Assert.That(heldNotice.TextBody, Does.Contain(reason + "; sent anyway, it goes by secure pickup link"));
        var holds = bed.Gateway.Services.GetRequiredService<IGuardHolds>();
        var hold = await holds.FindAsync(queueId + "-H1", CancellationToken.None);
        Assert.That((hold?.Recipient, hold?.Checks), Is.EqualTo((to, "RuleHold")));
        Assert.That(bed.Upstream.Messages.Where(m => m.Recipients.Contains(to)), Is.Empty, "nothing for the recipient while it is held");

        Assert.That(await bed.Gateway.Services.GetRequiredService<GuardDecisions>().ReleaseAsync(hold!, "IT (admin)", null, null, CancellationToken.None), Is.True);

        var notice = await bed.WaitForNoticeAsync(to);
        Assert.That(notice.Link, Does.Contain("/p/"), "released, a rule-held copy goes by pickup link");
        await GuardEndToEndTests.WaitForMessageDoneAsync(bed, queueId);
        Assert.That(bed.Upstream.Messages.Count(m => m.Recipients.Contains(to)), Is.EqualTo(1), "once: the release is not held again by its rule");
        Assert.That((await holds.FindAsync(hold!.HoldId, CancellationToken.None))!.State, Is.EqualTo(GuardHoldStates.Sent));
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_holds WHERE queue_id = @queueId", new { queueId }), Is.EqualTo(1));
    }

    [Test]
    public async Task DnsThatNeverAnswers_DefersTheCopy_ThenPastFallbackAfterThePickupNoticeGoes()
    {
        using var dns = TestDnsServer.Start();
        dns.Mx("slow-dns.test", 10, "mx.slow-dns.test").Silent("slow-dns.test");
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?>
        {
            ["Direct:Enabled"] = "true",
            ["Direct:Resolver"] = dns.Resolver,
            ["Direct:DnsTimeout"] = "00:00:00.300",
            ["Direct:FallbackAfter"] = "00:00:05", // well past the first attempt, even on a loaded machine
            ["Relay:RetrySchedule"] = "00:00:00.500",
        });
        var queueId = await RelayEndToEndTests.SubmitAsync(bed.Gateway,
            PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "Referral")), "desk@slow-dns.test");

        var notice = await bed.WaitForNoticeAsync("desk@slow-dns.test");

        var events = await RowsAsync<(string Type, string Detail, long RecordedAt)>(bed,
            "SELECT type, detail, recorded_at FROM audit_events WHERE queue_id = @queueId AND recipient = 'desk@slow-dns.test' AND type IN ('Deferred', 'FellBack') ORDER BY seq",
            new { queueId });
        Assert.That(events.First().Type, Is.EqualTo("Deferred"), "first it waits: the lookup failed");
        Assert.That(events.First().Detail, Does.Contain("the MX lookup failed; trying again later"));
        Assert.That(events.Last().Type, Is.EqualTo("FellBack"));
        Assert.That(events.Last().Detail, Does.StartWith("fallback: direct delivery kept failing since "));
        Assert.That(events.Last().RecordedAt - events.First().RecordedAt, Is.GreaterThan(1000), "not before Direct:FallbackAfter had run out");
        Assert.That(dns.Queries("slow-dns.test", ARSoft.Tools.Net.Dns.RecordType.Mx), Is.GreaterThanOrEqualTo(2), "asked on every attempt");
        Assert.That(notice.Parsed.Attachments, Is.Empty);
    }

    [Test]
    public async Task StartUp_DirectOn_WarnsAboutAMissingDmarcRecord_NotAboutThePublishedSpf()
    {
        using var dns = TestDnsServer.Start();
        dns.Txt("smiledental.example", "v=spf1 ip4:192.0.2.10 -all").Txt("smiledental.example", "google-site-verification=x");
        var recorder = new RecordingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Direct:Enabled"] = "true",
            ["Direct:Resolver"] = dns.Resolver,
            ["Direct:DnsTimeout"] = "00:00:02",
            ["Gateway:Domains:0"] = "smiledental.example",
            ["Logging:LogLevel:PhiMailGateway.Relay.DirectDnsRecordsCheck"] = "Information",
        }, s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(recorder));

        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(4363) == 1), "the records were checked");

        Assert.That(recorder.WithId(4360).Select(e => e.Message), Is.EqualTo(new[]
        {
            "Direct delivery is on but smiledental.example publishes no DMARC record (_dmarc.smiledental.example TXT); recipients' servers may reject or junk its mail (README: Direct)",
        }));
        Assert.That(recorder.WithId(4360).Single().Level, Is.EqualTo(Microsoft.Extensions.Logging.LogLevel.Warning));
    }

    [TestCase(true, 0)]
    [TestCase(false, 1)]
    public async Task StartUp_DkimKeysSet_WarnsWhenTheSelectorsRecordCarriesAnotherKey(bool publishedKeyIsOurs, int warnings)
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        using var ours = RSA.Create(2048);
        using var other = RSA.Create(2048);
        var keyPath = Path.Combine(temp.Path, "dkim.pem");
        File.WriteAllText(keyPath, ours.ExportPkcs8PrivateKeyPem());
        File.SetUnixFileMode(keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var published = publishedKeyIsOurs ? ours : other;
        // Split into strings of at most 255 bytes (DNS's limit) and with its tags reordered, as DNS consoles publish long keys.
        var record = "k=rsa; v=DKIM1; p=" + Convert.ToBase64String(published.ExportSubjectPublicKeyInfo());
        dns.Add("mail2026._domainkey.smiledental.example", new ARSoft.Tools.Net.Dns.TxtRecord(
            ARSoft.Tools.Net.DomainName.Parse("mail2026._domainkey.smiledental.example"), 300, record.Chunk(200).Select(c => new string(c)).ToArray()));
        var recorder = new RecordingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Direct:Enabled"] = "true",
            ["Direct:Resolver"] = dns.Resolver,
            ["Direct:DnsTimeout"] = "00:00:02",
            ["Direct:Dkim:Domain"] = "smiledental.example",
            ["Direct:Dkim:Selector"] = "mail2026",
            ["Direct:Dkim:KeyPath"] = keyPath,
            ["Logging:LogLevel:PhiMailGateway.Relay.DirectDnsRecordsCheck"] = "Information",
        }, s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(recorder));

        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(4363) == 1), "the records were checked");

        Assert.That(recorder.Count(4364), Is.EqualTo(warnings));
        Assert.That(recorder.WithId(4360).Where(e => e.Message.Contains("DKIM", StringComparison.Ordinal)), Is.Empty, "the record is there");
    }

    /// <summary>
    /// Per recipient, once all <paramref name="expected"/> are in the audit: the method of a direct
    /// copy (<c>DirectTls(pkix)</c>), or the detail of its FellBack event.
    /// </summary>
    private static async Task<Dictionary<string, string>> TlsFirstOutcomesAsync(PickupTestBed bed, string queueId, int expected)
    {
        const string sql = "SELECT recipient, type, detail FROM audit_events WHERE queue_id = @queueId AND (type = 'FellBack' OR detail LIKE 'DirectTls%')";
        await RelayEndToEndTests.WaitUntilAsync(async () => (await RowsAsync<(string, string, string)>(bed, sql, new { queueId })).Count == expected,
            "every recipient's TLS-first outcome is in the audit");
        return (await RowsAsync<(string Recipient, string Type, string Detail)>(bed, sql, new { queueId }))
            .ToDictionary(r => r.Recipient, r => r.Type == "FellBack" ? r.Detail : r.Detail[..r.Detail.IndexOf(' ', StringComparison.Ordinal)]);
    }

    /// <summary>The copy is the sender's message byte for byte, below the gateway's own trace header.</summary>
    private static void AssertAsWrittenBelowTrace(byte[] received, byte[] written)
    {
        Assert.That(received.AsSpan().EndsWith(written), Is.True, "the recipient's MX gets the message as the sender wrote it");
        var trace = System.Text.Encoding.ASCII.GetString(received, 0, received.Length - written.Length);
        Assert.That(trace, Does.StartWith("Received: from "), "only trace headers are added");
        Assert.That(trace.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith("Received:", StringComparison.Ordinal) && !char.IsWhiteSpace(l[0])), Is.Empty);
    }

    private static async Task<List<T>> RowsAsync<T>(PickupTestBed bed, string sql, object args)
    {
        await using var c = await bed.Gateway.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return (await c.QueryAsync<T>(sql, args)).AsList();
    }

    private static async Task<FakeSmtpUpstream> MxAsync(TestDnsServer dns, int port, string domain, X509Certificate2? certificate, bool signed,
        (TlsaCertificateUsage, TlsaSelector, TlsaMatchingType, byte[])? tlsa = null, X509Certificate2[]? chain = null, bool startTls = true,
        System.Security.Authentication.SslProtocols? protocols = null)
    {
        var address = IPAddress.Parse($"127.0.0.{Interlocked.Increment(ref _nextAddress)}");
        var host = "mx." + domain;
        dns.Mx(domain, 10, host).A(host, address.ToString());
        if (tlsa is var (usage, selector, matching, data)) dns.Tlsa(host, port, usage, selector, matching, data);
        if (signed) dns.Sign(domain);
        return await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = address, Port = port, Certificate = certificate, CertificateChain = chain, StartTls = startTls, TlsProtocols = protocols });
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
