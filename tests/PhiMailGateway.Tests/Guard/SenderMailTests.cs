using PhiMailGateway.Certificates;
using PhiMailGateway.Guard;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>
/// What the guard commits with a processed message besides its copies (holds, the sender's link,
/// the notice and the receipt) and when its copies may leave, over real inspected samples and a real spool.
/// </summary>
public class SenderMailTests
{
    private const string Office = "office@smiledental.example";
    private const string Lab = "cases@crown-lab.example";
    private const string Lee = "dr.lee@endo-specialists.example";

    private static readonly GuardReason Lookalike = new(GuardCheck.Lookalike, GuardAction.Hold, "looks like crown-lab.example, which you have sent to before");
    private static readonly GuardReason NewOne = new(GuardCheck.NewRecipient, GuardAction.Flag, "has not received images from the practice before");

    private QueueTestBed _bed = null!;
    private ManualTimeProvider _time = null!;
    private readonly PickupOptions _pickup = new() { BaseUrl = "https://pickup.smiledental.example", PracticeName = "Smile Dental" };

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _time = new ManualTimeProvider(new DateTimeOffset(2026, 12, 7, 9, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private SenderMail Mail(GuardOptions? options = null) =>
        new(options ?? new GuardOptions(), _pickup, new GuardNotices(_bed.Options with { Domains = ["smiledental.example"] }, _pickup, _bed.Spool, _time), _time);

    private static async Task<InspectionReport> InspectAsync(string sample)
    {
        await using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "samples", sample));
        return await new MessageInspector(new InspectionOptions(), Path.GetTempPath()).InspectAsync(file, CancellationToken.None);
    }

    /// <summary>A processed message: one verdict per recipient, and a pickup copy for each one that passed or was flagged.</summary>
    private static async Task<ProcessedMessage> ProcessedAsync(IReadOnlyList<GuardVerdict> verdicts, string sender = Office, string sample = "xray-dicom.eml")
    {
        var recipients = verdicts.Select(v => v.Recipient).ToList();
        var plan = new RoutingPlan(recipients.Select(r => new RoutingDecision(r, new RoutingRule("pickup", new RuleConditions(), RoutingAction.Pickup, null, "Treatment"),
            [], new CertificateAvailability(false, null))), []);
        var guard = new GuardPlan(verdicts);
        var copies = guard.Verdicts.Where(v => v.Outcome != GuardOutcome.Hold)
            .Select((v, i) => new OutboundCopy($"Q1-{i + 1}", [v.Recipient], new OutboundContent("/nowhere", 0), nameof(RoutingAction.Pickup), "pickup", false))
            .ToList();
        var envelope = new Envelope(sender, recipients, "frontdesk", "127.0.0.1", "pc", DateTimeOffset.UtcNow, true);
        return new ProcessedMessage(new SpoolEntry("Q1", "/nowhere", 0, 0, envelope), MessageHeaders.Unreadable, await InspectAsync(sample), plan, guard,
            new ProtectedCopies(copies, []));
    }

    private static GuardVerdict Held(string recipient) => new(recipient, [Lookalike]);
    private static GuardVerdict Flagged(string recipient) => new(recipient, [NewOne]);
    private static GuardVerdict Passed(string recipient) => new(recipient, []);

    private static string Subject(PhiMailGateway.Queue.NewDelivery mail) => MimeKit.MimeMessage.Load(mail.ContentPath).Subject ?? "";

    [Test]
    public async Task Prepare_TwoHeldCopies_NumberedHoldsForTheConfirmWindowTheNoticeAndTheReceipt()
    {
        var options = new GuardOptions { ConfirmWindow = TimeSpan.FromHours(6), SendDelay = TimeSpan.FromMinutes(10) };
        var prepared = await Mail(options).PrepareAsync(await ProcessedAsync([Held(Lab), Passed(Lee), Held("x@crovvn-lab.example")]), CancellationToken.None);

        Assert.That(prepared.Records.Holds.Select(h => (h.HoldId, h.Recipient)), Is.EqualTo(new[] { ("Q1-H1", Lab), ("Q1-H2", "x@crovvn-lab.example") }));
        Assert.That(prepared.Records.Holds.Select(h => h.ExpiresAt), Is.All.EqualTo(_time.GetUtcNow().AddHours(6)));
        Assert.That(prepared.Records.Holds[0].ReasonText, Is.EqualTo(Lookalike.Text));
        Assert.That(prepared.Mails.Select(Subject), Is.EqualTo(new[] { GuardNotices.HeldSubject, GuardNotices.ReceiptSubject }),
            "a held copy needs the sender's attention: notice and receipt");
        Assert.That(prepared.Records.Link!.ExpiresAt, Is.EqualTo(_time.GetUtcNow() + _pickup.LinkLifetime + TimeSpan.FromMinutes(10)),
            "the page works as long as the longer of the window and the pickup links, plus the send delay");
    }

    [Test]
    public async Task Prepare_AConfirmWindowLongerThanThePickupLinks_TheLinkLastsTheWindow()
    {
        var options = new GuardOptions { ConfirmWindow = _pickup.LinkLifetime + TimeSpan.FromDays(1) };
        var prepared = await Mail(options).PrepareAsync(await ProcessedAsync([Held(Lab)]), CancellationToken.None);
        Assert.That(prepared.Records.Link!.ExpiresAt, Is.EqualTo(_time.GetUtcNow() + options.ConfirmWindow));
    }

    [Test]
    public async Task Prepare_NothingHeldOrFlagged_NoLinkAndNoMailByDefault()
    {
        var prepared = await Mail().PrepareAsync(await ProcessedAsync([Passed(Lab), Passed(Lee)]), CancellationToken.None);
        Assert.That(prepared.Records.Holds, Is.Empty);
        Assert.That(prepared.Records.Link, Is.Null);
        Assert.That(prepared.Mails, Is.Empty);
        Assert.That(Directory.GetFiles(_bed.Spool.Outbound), Is.Empty);
    }

    [Test]
    public async Task Prepare_AFlaggedCopy_OnlyAReceipt()
    {
        var prepared = await Mail().PrepareAsync(await ProcessedAsync([Flagged(Lab), Passed(Lee)]), CancellationToken.None);
        Assert.That(prepared.Records.Holds, Is.Empty, "a flag never holds");
        Assert.That(prepared.Mails.Select(Subject), Is.EqualTo(new[] { GuardNotices.ReceiptSubject }));
        Assert.That(prepared.Records.Link, Is.Not.Null, "the receipt links the page");
    }

    [Test]
    public async Task Prepare_ReceiptsAlways_AReceiptThoughEveryCopyPassed()
    {
        var prepared = await Mail(new GuardOptions { Receipts = GuardReceipts.Always }).PrepareAsync(await ProcessedAsync([Passed(Lab)]), CancellationToken.None);
        Assert.That(prepared.Mails.Select(Subject), Is.EqualTo(new[] { GuardNotices.ReceiptSubject }));
    }

    [Test]
    public async Task Prepare_ReceiptsOff_AHeldCopyStillGetsItsNoticeAndAFlagNothing()
    {
        var off = new GuardOptions { Receipts = GuardReceipts.Off };
        var held = await Mail(off).PrepareAsync(await ProcessedAsync([Held(Lab)]), CancellationToken.None);
        Assert.That(held.Mails.Select(Subject), Is.EqualTo(new[] { GuardNotices.HeldSubject }), "the hold notice goes whatever Guard:Receipts says");
        var flagged = await Mail(off).PrepareAsync(await ProcessedAsync([Flagged(Lee)]), CancellationToken.None);
        Assert.That(flagged.Mails, Is.Empty);
        Assert.That(flagged.Records.Link, Is.Null);
    }

    [Test]
    public async Task Prepare_NoDentalImage_NoReceiptEvenWhenAlways()
    {
        var prepared = await Mail(new GuardOptions { Receipts = GuardReceipts.Always })
            .PrepareAsync(await ProcessedAsync([Passed(Lab)], sample: "hello.eml"), CancellationToken.None);
        Assert.That(prepared.Mails, Is.Empty);
        Assert.That(prepared.Records.Link, Is.Null);
    }

    [Test]
    public async Task Prepare_ASenderOutsideThePractice_TheCopyIsHeldButNobodyIsMailed()
    {
        var prepared = await Mail().PrepareAsync(await ProcessedAsync([Held(Lab)], sender: "someone@elsewhere.example"), CancellationToken.None);
        Assert.That(prepared.Records.Holds.Select(h => h.Recipient), Is.EqualTo(new[] { Lab }), "held all the same");
        Assert.That(prepared.Records.Link, Is.Null, "no link that nobody is given");
        Assert.That(prepared.Mails, Is.Empty);
    }

    [Test]
    public async Task Prepare_OnlyHeldCopies_TheNoticeDoesNotSayOthersGotIt()
    {
        var prepared = await Mail().PrepareAsync(await ProcessedAsync([Held(Lab)]), CancellationToken.None);
        var notice = MimeKit.MimeMessage.Load(prepared.Mails[0].ContentPath);
        Assert.That(notice.TextBody, Does.Not.Contain("other recipients"));
        var withOthers = await Mail().PrepareAsync(await ProcessedAsync([Held(Lab), Passed(Lee)]), CancellationToken.None);
        Assert.That(MimeKit.MimeMessage.Load(withOthers.Mails[0].ContentPath).TextBody, Does.Contain("The other recipients got the message as usual."));
    }

    private static string Text(PhiMailGateway.Queue.NewDelivery mail) => (MimeKit.MimeMessage.Load(mail.ContentPath).TextBody ?? "").ReplaceLineEndings("\n");

    [Test]
    public async Task Receipt_FlaggedHeldAndDelayedCopies_SaysHowEachGoesWithItsNotesAndWhenTheyLeave()
    {
        var options = new GuardOptions { SendDelay = TimeSpan.FromMinutes(10) };
        var prepared = await Mail(options).PrepareAsync(await ProcessedAsync([Flagged(Lab), Held("x@crovvn-lab.example"), Passed(Lee)]), CancellationToken.None);
        var receipt = Text(prepared.Mails.Single(m => Subject(m) == GuardNotices.ReceiptSubject));

        Assert.That(receipt, Does.Contain($"  {Lab}\n    secure pickup link: they open it with a one-time code\n    - note: {NewOne.Text}"));
        Assert.That(receipt, Does.Contain($"  {Lee}\n    secure pickup link: they open it with a one-time code\n"));
        Assert.That(receipt, Does.Not.Contain($"{Lee}\n    secure pickup link: they open it with a one-time code\n    - note"), "a passed copy has no note");
        Assert.That(receipt, Does.Contain("  x@crovvn-lab.example\n    not sent yet: please check the address (see the other email)"));
        Assert.That(receipt, Does.Contain("The copies leave at "));
        Assert.That(receipt, Does.Contain("A pickup link can be revoked on the page below until it is opened."));
        Assert.That(receipt, Does.Contain("https://pickup.smiledental.example/g/"));
    }

    [Test]
    public async Task Receipt_NoSendDelay_SaysNothingOfRecall()
    {
        var prepared = await Mail(new GuardOptions { Receipts = GuardReceipts.Always }).PrepareAsync(await ProcessedAsync([Passed(Lab)]), CancellationToken.None);
        var receipt = Text(prepared.Mails.Single());
        Assert.That(receipt, Does.Not.Contain("The copies leave at"));
        Assert.That(receipt, Does.Contain("A pickup link can be revoked"), "a pickup copy can still be revoked");
    }

    [Test]
    public async Task SendAfter_ImagesAndASendDelay_NowPlusTheDelay()
    {
        var mail = Mail(new GuardOptions { SendDelay = TimeSpan.FromMinutes(5) });
        Assert.That(mail.SendAfter(await ProcessedAsync([Passed(Lab)])), Is.EqualTo(_time.GetUtcNow().AddMinutes(5)));
        Assert.That(mail.SendAfter(await ProcessedAsync([Passed(Lab)], sample: "hello.eml")), Is.Null, "only copies with images wait");
    }

    [Test]
    public async Task SendAfter_NoSendDelay_Null() =>
        Assert.That(Mail().SendAfter(await ProcessedAsync([Passed(Lab)])), Is.Null);
}
