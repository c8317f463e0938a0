using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using PhiMailGateway.Guard;
using PhiMailGateway.Tests.Audit;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>
/// The misdirection guard over real SMTP, a real smarthost and the sender's page: a copy of images
/// to a look-alike of a known partner is held, its sender is told, and nothing leaves for it until
/// the sender (or IT) decides.
/// </summary>
public sealed partial class GuardEndToEndTests
{
    private const string Partner = "dr.kim@endo-specialists.example";
    private const string Typo = "dr.lee@endo-specialsts.example";

    private static Dictionary<string, string?> KnownPartner(string? window = null)
    {
        var settings = new Dictionary<string, string?> { ["Guard:KnownDomains:0"] = "endo-specialists.example", ["Guard:Receipts"] = "Attention" };
        if (window is not null) settings["Guard:ConfirmWindow"] = window;
        return settings;
    }

    private static MimeMessage Xray() => PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg());

    private static async Task<string> SubmitAsync(PickupTestBed bed, MimeMessage message, params string[] recipients) =>
        await RelayEndToEndTests.SubmitAsync(bed.Gateway, PickupTestBed.Wire(message), recipients);

    internal static async Task<ReceivedMessage> WaitForSenderMailAsync(PickupTestBed bed, string subject, int nth = 1)
    {
        ReceivedMessage? found = null;
        await RelayEndToEndTests.WaitUntilAsync(() =>
        {
            found = bed.Upstream.Messages.Where(m => m.Recipients.Contains(RelayEndToEndTests.Sender) && PickupTestBed.Parse(m).Subject == subject)
                .Skip(nth - 1).FirstOrDefault();
            return Task.FromResult(found is not null);
        }, $"the sender's mail '{subject}'");
        return found!;
    }

    internal static string GuardToken(ReceivedMessage notice)
    {
        var match = GuardLink().Match(PickupTestBed.Parse(notice).TextBody ?? "");
        Assert.That(match.Success, Is.True, "the notice carries the /g/ link");
        return match.Groups["token"].Value;
    }

    private static Task<string> HoldStateAsync(PickupTestBed bed, string queueId) =>
        bed.QueryAsync<string>("SELECT state FROM guard_holds WHERE queue_id = @queueId", new { queueId });

    internal static Task WaitForMessageDoneAsync(PickupTestBed bed, string queueId) =>
        RelayEndToEndTests.WaitUntilAsync(async () => await bed.QueryAsync<string>("SELECT state FROM messages WHERE queue_id = @queueId", new { queueId }) == "Done",
            "the message is done (nothing of it left to send)");

    private static int CopiesTo(PickupTestBed bed, string recipient) =>
        bed.Upstream.Messages.Count(m => m.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase));

    [Test]
    public async Task Lookalike_OfAKnownPartner_IsHeldAndTheSenderToldWhileThePartnerGetsItsCopy()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var queueId = await SubmitAsync(bed, Xray(), Partner, Typo);

        var notice = await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject);
        await bed.WaitForNoticeAsync(Partner);
        var parsed = PickupTestBed.Parse(notice);
        Assert.That(parsed.TextBody, Does.Contain(Typo).And.Contain("looks like endo-specialists.example"), "names the address and why, in plain words");
        Assert.That(parsed.TextBody, Does.Contain("The other recipients got the message as usual."));
        Assert.That(parsed.HtmlBody, Does.Contain(Typo), "an HTML part for Outlook");
        foreach (var secret in new[] { "bitewing", "TEST^PATIENT", "Referral" })
            Assert.That(PickupTestBed.Text(notice), Does.Not.Contain(secret), "no file name, subject or patient in the notice");
        Assert.That(notice.Sender, Is.Empty, "sent with the null reverse-path: it never bounces back into a loop");

        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Held));
        Assert.That(CopiesTo(bed, Typo), Is.Zero, "no pickup notice, no copy for the held address");
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_packages WHERE recipient = @Typo", new { Typo }), Is.Zero, "no package either");
        Assert.That(await bed.QueryAsync<string>("SELECT state FROM messages WHERE queue_id = @queueId", new { queueId }), Is.EqualTo("Processed"),
            "the message stays open while a copy is held");
        Assert.That(File.Exists(bed.Gateway.Spool.IncomingPath(queueId)), Is.True, "its spool file stays for the release");
        var token = GuardToken(notice);
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_links WHERE token_hash = @token", new { token }), Is.Zero,
            "the link token is stored only as its hash");
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_links WHERE token_hash = @hash AND queue_id = @queueId",
            new { hash = PhiMailGateway.Protection.Pickup.PickupSecrets.Hash(token), queueId }), Is.EqualTo(1));
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM audit_events WHERE type = 'GuardHeld' AND recipient = @Typo", new { Typo }), Is.EqualTo(1));
    }

    [Test]
    public async Task Lookalike_UnderARuleThatHoldsTheWholeMessage_HoldsThePartnersCopyToo()
    {
        var settings = KnownPartner();
        // The shipped rules, with "images-tls-first" (the second; pickup while direct delivery is off) holding whole messages.
        settings["Rules:1:GuardHolds"] = "Message";
        await using var bed = await PickupTestBed.StartAsync(settings);
        var queueId = await SubmitAsync(bed, Xray(), Partner, Typo);

        var notice = PickupTestBed.Parse(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        Assert.That(notice.TextBody, Does.Contain(Partner).And.Contain("held with the rest of the message"));
        Assert.That(notice.TextBody, Does.Not.Contain("The other recipients got the message"));
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_holds WHERE queue_id = @queueId AND state = 'Held'", new { queueId }), Is.EqualTo(2));
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM deliveries WHERE queue_id = @queueId AND is_dsn = 0", new { queueId }), Is.Zero,
            "no copy was made for anyone");
    }

    [Test]
    public async Task HoldAndRelease_EveryLogLineAtDebug_NamesNoAddressFileNamePatientOrToken()
    {
        var recorder = new RecordingLoggerProvider();
        var settings = KnownPartner();
        settings["Logging:LogLevel:Default"] = "Debug";
        await using var bed = await PickupTestBed.StartAsync(settings, s => s.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(recorder));
        var queueId = await SubmitAsync(bed, Xray(), Partner, Typo);
        var token = GuardToken(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        using var client = bed.Client();
        await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/send", ("hold", $"{queueId}-H1"), ("reason", "Dr. Lee's new practice"));
        await bed.WaitForNoticeAsync(Typo);
        await WaitForMessageDoneAsync(bed, queueId);

        Assert.That(recorder.Events.Any(e => e.EventId == 3105) && recorder.Events.Any(e => e.EventId == 3106), Is.True,
            "the hold and the release were logged (by id and count)");
        foreach (var secret in new[] { token, PhiMailGateway.Protection.Pickup.PickupSecrets.Hash(token), Typo, "endo-specialsts", Partner,
                     "bitewing", "TEST^PATIENT", "Referral", "Dr. Lee's new practice", RelayEndToEndTests.Sender })
            Assert.That(recorder.Events.Where(e => e.Message.Contains(secret, StringComparison.OrdinalIgnoreCase)).Select(e => $"{e.EventId} {e.Message}"),
                Is.Empty, $"'{secret}' in the log");
    }

    [Test]
    public async Task DontSend_OnTheSendersPage_TheHeldCopyNeverLeaves()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var queueId = await SubmitAsync(bed, Xray(), Partner, Typo);
        var token = GuardToken(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        using var client = bed.Client();

        var page = await client.GetStringAsync($"/g/{token}");
        Assert.That(page, Does.Contain(Typo).And.Contain("Send anyway").And.Contain("Don&rsquo;t send"));
        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Held), "a GET (a mail scanner) decides nothing");

        var holdId = $"{queueId}-H1";
        var answer = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/cancel", ("hold", holdId));
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));
        await WaitForMessageDoneAsync(bed, queueId);

        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Cancelled));
        Assert.That(CopiesTo(bed, Typo), Is.Zero, "nothing ever left for the held address");
        Assert.That(File.Exists(bed.Gateway.Spool.IncomingPath(queueId)), Is.False, "the finished message's spool file is gone");
        var after = WebUtility.HtmlDecode(await client.GetStringAsync($"/g/{token}?done=cancelled"));
        Assert.That(after, Does.Contain("you chose Don't send").And.Contain("It will not be sent"));
        Assert.That(after, Does.Not.Contain("Send anyway"), "a decided copy offers no second decision");
        Assert.That(await bed.QueryAsync<string>("SELECT detail FROM audit_events WHERE type = 'GuardCancelled'"), Does.Contain($"{holdId} by sender"));
        var decisions = await AuditTestKit.ExportJsonAsync(bed.Gateway.DataDirectory, "--guard", "--recipient", Typo);
        Assert.That(decisions.Select(d => d.GetProperty("decision").GetString()), Is.EqualTo(new[] { "held", "cancelled" }),
            "audit export --guard lists the copy that never left, which the accounting of disclosures does not");
        Assert.That(decisions[1].GetProperty("detail").GetString(), Is.EqualTo($"{holdId} by sender"));
        Assert.That((await AuditTestKit.ExportJsonAsync(bed.Gateway.DataDirectory, "--recipient", Typo)), Is.Empty, "no disclosure for it");
    }

    [Test]
    public async Task SendAnyway_OnTheSendersPage_DeliversOnceAsItsRuleSaysAndTheAddressBecomesKnown()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var queueId = await SubmitAsync(bed, Xray(), Partner, Typo);
        var token = GuardToken(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        using var client = bed.Client();

        var answer = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/send",
            ("hold", $"{queueId}-H1"), ("reason", "Dr. Lee's new practice"));
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther));

        var delivered = await bed.WaitForNoticeAsync(Typo);
        Assert.That(delivered.Link, Does.Contain("/p/"), "the copy goes as its rule says: a pickup notice");
        await WaitForMessageDoneAsync(bed, queueId);
        Assert.That(CopiesTo(bed, Typo), Is.EqualTo(1), "delivered once");
        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Sent));
        Assert.That(await bed.QueryAsync<string>("SELECT detail FROM audit_events WHERE type = 'GuardConfirmed'"),
            Does.Contain("by sender: Dr. Lee's new practice"), "who confirmed, and why");
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM disclosures WHERE recipient = @Typo AND delivery_id = @id", new { Typo, id = $"{queueId}-H1-1" }),
            Is.EqualTo(1), "its disclosure record names the released copy");
        Assert.That(await bed.QueryAsync<string>("SELECT source FROM guard_known WHERE entry = @Typo", new { Typo }), Is.EqualTo(KnownSources.Confirmed));
        var accounting = (await AuditTestKit.ExportJsonAsync(bed.Gateway.DataDirectory, "--recipient", Typo)).Single();
        Assert.That(accounting.GetProperty("guard").GetString(),
            Does.StartWith("held: Lookalike Hold: looks like endo-specialists.example").And.Contain($"; confirmed {queueId}-H1 by sender: Dr. Lee's new practice"),
            "the accounting shows the guard's decision with the disclosure");

        // The next message to the confirmed address is not held again.
        var next = await SubmitAsync(bed, Xray(), Typo);
        await WaitForMessageDoneAsync(bed, next);
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_holds WHERE queue_id = @next", new { next }), Is.Zero);
        Assert.That(CopiesTo(bed, Typo), Is.EqualTo(2));
    }

    [Test]
    public async Task KnownPartner_AndMailWithoutImages_AreNeverHeld()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var plain = DentalCorpus.Message(subject: "Lunch on Friday?");
        var first = await SubmitAsync(bed, plain, Typo);
        var second = await SubmitAsync(bed, Xray(), Partner);
        await WaitForMessageDoneAsync(bed, first);
        await WaitForMessageDoneAsync(bed, second);
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM guard_holds"), Is.Zero);
        Assert.That(CopiesTo(bed, Typo), Is.EqualTo(1), "a message without images goes to a look-alike untouched");
        Assert.That(CopiesTo(bed, Partner), Is.EqualTo(1));
        Assert.That(bed.Upstream.Messages.Any(m => m.Recipients.Contains(RelayEndToEndTests.Sender)), Is.False, "the sender is not bothered");
    }

    [Test]
    public async Task HeldCopy_NobodyDecides_IsCancelledWhenTheWindowPassesAndTheSenderTold()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner(window: "00:00:01"));
        var queueId = await SubmitAsync(bed, Xray(), Typo);
        var token = GuardToken(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));

        var told = PickupTestBed.Parse(await WaitForSenderMailAsync(bed, GuardNotices.ExpiredSubject));
        Assert.That(told.TextBody, Does.Contain($"was not sent to {Typo}"));
        await WaitForMessageDoneAsync(bed, queueId);
        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Expired));
        Assert.That(CopiesTo(bed, Typo), Is.Zero);
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM audit_events WHERE type = 'GuardExpired'"), Is.EqualTo(1));
        using var client = bed.Client();
        var page = await client.GetStringAsync($"/g/{token}");
        Assert.That(page, Does.Contain("the time to decide passed").And.Not.Contain("Send anyway"), "too late to send anyway");
    }

    [Test]
    public async Task SendersPage_WithoutTheRightTokenOrForm_ChangesNothing()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var queueId = await SubmitAsync(bed, Xray(), Typo);
        var token = GuardToken(await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject));
        using var client = bed.Client();

        Assert.That((await client.GetAsync("/g/" + new string('A', 43))).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a made-up token");
        Assert.That((await client.GetAsync("/g/short")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var forged = await client.PostAsync($"/g/{token}/send", new FormUrlEncodedContent([new("hold", $"{queueId}-H1")]));
        Assert.That(forged.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), "a POST without the anti-forgery token");
        var otherHold = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/send", ("hold", "someone-else-H1"));
        Assert.That(otherHold.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a hold that is not this link's");
        Assert.That((await client.GetAsync($"/g/{token}/send")).StatusCode, Is.Not.EqualTo(HttpStatusCode.OK).And.Not.EqualTo(HttpStatusCode.SeeOther),
            "GET on the action decides nothing");
        Assert.That(await HoldStateAsync(bed, queueId), Is.EqualTo(GuardHoldStates.Held));
    }

    [Test]
    public async Task GuardCli_ListReleaseCancel_DecideHeldCopiesForIt()
    {
        await using var bed = await PickupTestBed.StartAsync(KnownPartner());
        var released = await SubmitAsync(bed, Xray(), Typo);
        var cancelled = await SubmitAsync(bed, Xray(), "dr.lee@endo-specialist.example");
        await WaitForSenderMailAsync(bed, GuardNotices.HeldSubject, nth: 2);
        var data = bed.Gateway.DataDirectory;

        var list = await AuditTestKit.CliAsync(data, "guard", "list");
        Assert.That(list.Code, Is.Zero, list.Err);
        var lines = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(2), list.Out);
        Assert.That(lines.Select(l => l.Split("  ")[0]), Is.EquivalentTo(new[] { $"{released}-H1", $"{cancelled}-H1" }), "id first");
        Assert.That(list.Out, Does.Contain(Typo).And.Contain("Lookalike"));

        var release = await AuditTestKit.CliAsync(data, "guard", "release", $"{released}-H1", "--reason", "checked by phone");
        Assert.That(release.Code, Is.Zero, release.Err);
        var cancel = await AuditTestKit.CliAsync(data, "guard", "cancel", $"{cancelled}-H1");
        Assert.That(cancel.Code, Is.Zero, cancel.Err);
        Assert.That((await AuditTestKit.CliAsync(data, "guard", "cancel", $"{cancelled}-H1")).Code, Is.EqualTo(1), "decided already");
        Assert.That((await AuditTestKit.CliAsync(data, "guard", "release", "nope-H1")).Code, Is.EqualTo(1), "unknown id");
        Assert.That((await AuditTestKit.CliAsync(data, "guard", "release")).Code, Is.EqualTo(2), "usage");

        await bed.WaitForNoticeAsync(Typo);
        await WaitForMessageDoneAsync(bed, released);
        await WaitForMessageDoneAsync(bed, cancelled);
        Assert.That(CopiesTo(bed, "dr.lee@endo-specialist.example"), Is.Zero);
        Assert.That(await bed.QueryAsync<string>("SELECT detail FROM audit_events WHERE type = 'GuardConfirmed'"), Does.Contain("by IT (cli:").And.Contain("checked by phone"));
        var empty = await AuditTestKit.CliAsync(data, "guard", "list");
        Assert.That((empty.Code, empty.Out), Is.EqualTo((0, "")), "nothing held: no lines, exit 0");
    }

    [Test]
    public async Task Receipt_ForAFlaggedCopy_SaysHowItWentAndItsRevokeMakesThePickupPageSayRevoked()
    {
        const string newcomer = "front@new-lab.example";
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Guard:Receipts"] = "Attention" });
        var queueId = await SubmitAsync(bed, Xray(), newcomer);
        var pickup = await bed.WaitForNoticeAsync(newcomer);
        var receipt = await WaitForSenderMailAsync(bed, GuardNotices.ReceiptSubject);
        var text = PickupTestBed.Parse(receipt).TextBody ?? "";
        Assert.That(text, Does.Contain(newcomer).And.Contain("secure pickup link"), "how the copy goes");
        Assert.That(text, Does.Contain("note:"), "and why the guard flagged it (a new recipient)");
        Assert.That(PickupTestBed.Text(receipt), Does.Not.Contain("bitewing").And.Not.Contain("TEST^PATIENT"));
        Assert.That(bed.Upstream.Messages.Any(m => PickupTestBed.Parse(m).Subject == GuardNotices.HeldSubject), Is.False, "nothing was held");

        var token = GuardToken(receipt);
        using var client = bed.Client();
        var page = await client.GetStringAsync($"/g/{token}");
        var package = HiddenField("package").Match(page);
        Assert.That(package.Success, Is.True, "the page offers Revoke for the unopened pickup link");
        Assert.That(package.Groups[1].Value, Is.EqualTo(pickup.PackageId));
        Assert.That((await client.GetAsync($"/p/{pickup.Token}")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "a GET of the sender's page revoked nothing");

        var revoke = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/revoke", ("package", pickup.PackageId));
        Assert.That(revoke.Headers.Location?.ToString(), Does.EndWith("done=revoked"));
        var landing = await client.GetAsync($"/p/{pickup.Token}");
        Assert.That(landing.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        Assert.That(await landing.Content.ReadAsStringAsync(), Does.Contain("has withdrawn these files"), "the recipient's page says the link was revoked");
        Assert.That(await bed.QueryAsync<string>("SELECT detail FROM audit_events WHERE type = 'PickupRevoked' AND package_id = @p", new { p = pickup.PackageId }),
            Does.Contain("by the sender"));
        Assert.That(await bed.QueryAsync<string>("SELECT state FROM pickup_packages WHERE queue_id = @queueId", new { queueId }), Is.EqualTo("Revoked"));
    }

    [Test]
    public async Task Recall_WithinTheSendDelay_StopsTheCopyBeforeItLeaves()
    {
        var settings = KnownPartner();
        settings["Guard:SendDelay"] = "00:10:00";
        settings["Guard:Receipts"] = "Always";
        await using var bed = await PickupTestBed.StartAsync(settings);
        var queueId = await SubmitAsync(bed, Xray(), Partner);
        var receipt = await WaitForSenderMailAsync(bed, GuardNotices.ReceiptSubject);
        Assert.That(PickupTestBed.Parse(receipt).TextBody, Does.Contain("until then you can recall them"));
        Assert.That(CopiesTo(bed, Partner), Is.Zero, "the copy waits out the send delay");

        var token = GuardToken(receipt);
        using var client = bed.Client();
        var delivery = HiddenField("delivery").Match(await client.GetStringAsync($"/g/{token}"));
        Assert.That(delivery.Success, Is.True, "the page offers Recall");
        var recall = await PickupTestBed.SubmitFormAsync(client, $"/g/{token}", $"/g/{token}/recall", ("delivery", delivery.Groups[1].Value));
        Assert.That(recall.Headers.Location?.ToString(), Does.EndWith("done=recalled"));
        await WaitForMessageDoneAsync(bed, queueId);

        Assert.That(CopiesTo(bed, Partner), Is.Zero, "recalled: it never left");
        Assert.That(await bed.QueryAsync<string>("SELECT status FROM delivery_recipients WHERE delivery_id = @d", new { d = delivery.Groups[1].Value }), Is.EqualTo("Failed"));
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM audit_events WHERE type = 'Recalled'"), Is.EqualTo(1));
        Assert.That(await bed.QueryAsync<string>("SELECT state FROM pickup_packages WHERE queue_id = @queueId", new { queueId }), Is.EqualTo("Revoked"),
            "its pickup package goes with it");
        Assert.That(await client.GetStringAsync($"/g/{token}?done=recalled"), Does.Not.Contain("name=\"delivery\""), "nothing left to recall");
    }

    private static Regex HiddenField(string name) => new($"name=\"{name}\" value=\"([^\"]+)\"");

    [GeneratedRegex(@"https?://[^\s/]+/g/(?<token>[A-Za-z0-9_-]{43})")]
    private static partial Regex GuardLink();
}
