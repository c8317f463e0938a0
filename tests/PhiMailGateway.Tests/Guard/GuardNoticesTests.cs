using MimeKit;
using PhiMailGateway.Guard;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>
/// The mails to the sender about held copies, written into a real spool: who is told (only the
/// practice's own senders), and what a notice names (the held addresses and their hold reasons, the page).
/// </summary>
public class GuardNoticesTests
{
    private const string Office = "office@smiledental.example";

    private QueueTestBed _bed = null!;
    private GuardNotices _notices = null!;
    private PickupOptions _pickup = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _pickup = new PickupOptions { BaseUrl = "https://pickup.smiledental.example/", PracticeName = "Smile Dental" };
        _notices = Notices(["SmileDental.Example."]);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private GuardNotices Notices(string[] domains) =>
        new(_bed.Options with { Domains = domains }, _pickup, _bed.Spool, new ManualTimeProvider(DateTimeOffset.UtcNow));

    private static NewGuardHold Hold(string id, string recipient, params GuardReason[] reasons) =>
        new(id, recipient, reasons, DateTimeOffset.UtcNow.AddDays(1));

    private static readonly GuardReason Lookalike = new(GuardCheck.Lookalike, GuardAction.Hold, "looks like crown-lab.example, which you have sent to before");
    private static readonly GuardReason NewOne = new(GuardCheck.NewRecipient, GuardAction.Flag, "has not received images from the practice before");

    private static async Task<(MimeMessage Mail, string Text)> ReadAsync(NewDelivery notice)
    {
        var mail = await MimeMessage.LoadAsync(notice.ContentPath);
        return (mail, (mail.TextBody ?? "").ReplaceLineEndings("\n"));
    }

    [TestCase(Office, true)]
    [TestCase("Office@SmileDental.Example", true)]
    [TestCase("dr.lee@endo-specialists.example", false)] // a stranger would learn where PHI was going
    [TestCase("office@smiledental.example.evil.example", false)]
    [TestCase("", false)]
    [TestCase("<>", false)] // the null sender: a bounce, nobody to tell
    [TestCase("postmaster", false)]
    public void Notifies_OnlyASenderOfThePracticesDomains(string sender, bool told) =>
        Assert.That(_notices.Notifies(sender), Is.EqualTo(told));

    [TestCase("anyone@anywhere.example", true)]
    [TestCase("<>", false)]
    [TestCase("  ", false)]
    public void Notifies_WithoutPracticeDomains_AnySenderButTheNullOne(string sender, bool told) =>
        Assert.That(Notices([]).Notifies(sender), Is.EqualTo(told));

    [TestCase("office@smiledental.example")]
    [TestCase("office@smile-ortho.example")]
    public void Notifies_ASenderOfAnyOfThePracticesDomains(string sender) =>
        Assert.That(Notices(["smiledental.example", "smile-ortho.example"]).Notifies(sender), Is.True);

    [Test]
    public async Task Held_OneCopy_AMailToTheSenderNamingTheAddressItsHoldReasonAndThePage()
    {
        var notice = await _notices.HeldAsync("Q1", Office, [Hold("Q1-H1", "cases@crovvn-lab.example", Lookalike, NewOne)], "tok123", othersWent: true,
            CancellationToken.None);

        Assert.That(notice, Is.Not.Null);
        Assert.That(notice!.Recipients, Is.EqualTo(new[] { Office }));
        Assert.That((notice.Sender, notice.IsDsn, notice.Action), Is.EqualTo(("", true, "GuardNotice")), "the null reverse-path: it never bounces");
        Assert.That(notice.DeliveryId, Does.StartWith("Q1-G"));
        Assert.That(Path.GetDirectoryName(notice.ContentPath), Is.EqualTo(_bed.Spool.Outbound));

        var (mail, text) = await ReadAsync(notice);
        Assert.That(mail.Subject, Is.EqualTo(GuardNotices.HeldSubject));
        Assert.That(mail.To.Mailboxes.Single().Address, Is.EqualTo(Office));
        Assert.That(mail.From.Mailboxes.Single().Address, Is.EqualTo("MAILER-DAEMON@gw.test"));
        Assert.That(mail.Headers["Auto-Submitted"], Is.EqualTo("auto-generated"));
        Assert.That(text, Does.Contain("was not sent to one address yet"));
        Assert.That(text, Does.Contain("  cases@crovvn-lab.example\n    - looks like crown-lab.example, which you have sent to before"));
        Assert.That(text, Does.Not.Contain(NewOne.Text), "a flag does not hold, so it is not a reason given for the hold");
        Assert.That(text, Does.Contain("https://pickup.smiledental.example/g/tok123"));
        Assert.That(text, Does.Contain("The other recipients got the message as usual."));
        Assert.That(mail.HtmlBody, Does.Contain("https://pickup.smiledental.example/g/tok123"));
    }

    [Test]
    public async Task Held_TwoCopiesAndNoOtherRecipient_CountsThemAndSaysNothingOfOthers()
    {
        var notice = await _notices.HeldAsync("Q1", Office, [Hold("Q1-H1", "a@one.example", Lookalike), Hold("Q1-H2", "b@two.example", Lookalike)], "t",
            othersWent: false, CancellationToken.None);
        var (_, text) = await ReadAsync(notice!);
        Assert.That(text, Does.Contain("was not sent to 2 addresses yet"));
        Assert.That(text, Does.Contain("a@one.example").And.Contain("b@two.example"));
        Assert.That(text, Does.Not.Contain("other recipients"));
    }

    private static readonly GuardReason RuleHold = new(GuardCheck.RuleHold, GuardAction.Hold,
        "its mail server's encryption could not be verified (no MX with verified TLS); sent anyway, it goes by secure pickup link");

    [Test]
    public async Task Held_ByARuleAlone_SaysWhyAndOffersThePickupLink_NotThatTheAddressMayBeWrong()
    {
        var notice = await _notices.HeldAsync("Q1", Office, [Hold("Q1-1-H1", "desk@imaging.example", RuleHold, NewOne)], "tok", othersWent: false, CancellationToken.None);

        var (mail, text) = await ReadAsync(notice!);
        Assert.That(text, Does.StartWith("Your message with images was not sent to one address yet:\n"));
        Assert.That(text, Does.Contain("  desk@imaging.example\n    - " + RuleHold.Text));
        Assert.That(text, Does.Contain("To send it as a secure pickup link, open this page and choose \"Send anyway\". If it should\nnot go, choose \"Don't send\":"));
        Assert.That(text, Does.Not.Contain("mistake").And.Not.Contain("right address"));
        Assert.That(mail.HtmlBody, Does.Contain(">Decide</a>").And.Contain("To send it as a secure pickup link").And.Not.Contain("mistake"));
    }

    [Test]
    public async Task Held_ARuleHoldBesideALookalike_KeepsTheWordingOfAPossibleMistake()
    {
        var notice = await _notices.HeldAsync("Q1", Office, [Hold("Q1-H1", "a@one.example", RuleHold), Hold("Q1-H2", "b@crovvn-lab.example", Lookalike)], "t",
            othersWent: false, CancellationToken.None);
        var (mail, text) = await ReadAsync(notice!);
        Assert.That(text, Does.StartWith("Your message with images was not sent to 2 addresses yet, because the address may be a mistake:"));
        Assert.That(text, Does.Contain(RuleHold.Text).And.Contain(Lookalike.Text));
        Assert.That(mail.HtmlBody, Does.Contain(">Check the address</a>").And.Contain("The address may be a mistake:"));
    }

    [TestCase("RuleHold", "Your message with images was not sent to a@one.example: a rule of the practice held it,", "send the message again and choose \"Send anyway\"")]
    [TestCase("Lookalike,RuleHold", "Your message with images was not sent to a@one.example: the address looked like it may be a mistake,", "the gateway will ask you once more")]
    public async Task Expired_SaysWhyItWasHeld_ARuleOrAPossibleMistake(string checks, string opening, string advice)
    {
        var hold = new GuardHold { HoldId = "Q1-H1", QueueId = "Q1", Recipient = "a@one.example", Sender = Office, State = GuardHoldStates.Held, Checks = checks };
        var notice = await _notices.ExpiredAsync(hold, CancellationToken.None);
        var (mail, text) = await ReadAsync(notice!);
        Assert.That(text, Does.StartWith(opening));
        Assert.That(text, Does.Contain(advice));
        Assert.That(mail.HtmlBody, Does.Contain(checks == "RuleHold" ? "A rule of the practice held it" : "The address looked like it may be a mistake"));
    }

    [Test]
    public async Task Held_NothingHeld_NoMail()
    {
        Assert.That(await _notices.HeldAsync("Q1", Office, [], "t", othersWent: true, CancellationToken.None), Is.Null);
        Assert.That(Directory.GetFiles(_bed.Spool.Outbound), Is.Empty);
    }

    [Test]
    public async Task Held_ForASenderOutsideThePractice_NoMail()
    {
        Assert.That(await _notices.HeldAsync("Q1", "dr.lee@endo-specialists.example", [Hold("Q1-H1", "a@one.example", Lookalike)], "t", true,
            CancellationToken.None), Is.Null);
        Assert.That(Directory.GetFiles(_bed.Spool.Outbound), Is.Empty);
    }

    [Test]
    public async Task Expired_AMailToTheSenderNamingTheAddressNotSent()
    {
        var hold = new GuardHold { HoldId = "Q1-H1", QueueId = "Q1", Recipient = "a@one.example", Sender = Office, State = GuardHoldStates.Held };
        var notice = await _notices.ExpiredAsync(hold, CancellationToken.None);
        var (mail, text) = await ReadAsync(notice!);
        Assert.That(mail.Subject, Is.EqualTo(GuardNotices.ExpiredSubject));
        Assert.That(notice!.DeliveryId, Does.StartWith("Q1-H1-X"));
        Assert.That(text, Does.StartWith("Your message with images was not sent to a@one.example:"));
    }

    [Test]
    public async Task Expired_ForASenderOutsideThePractice_NoMail()
    {
        var hold = new GuardHold { HoldId = "Q1-H1", QueueId = "Q1", Recipient = "a@one.example", Sender = "x@elsewhere.example" };
        Assert.That(await _notices.ExpiredAsync(hold, CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Discard_ANoticeThatDidNotCommit_ItsFileGoes()
    {
        var notice = await _notices.HeldAsync("Q1", Office, [Hold("Q1-H1", "a@one.example", Lookalike)], "t", true, CancellationToken.None);
        GuardNotices.Discard(notice);
        Assert.That(File.Exists(notice!.ContentPath), Is.False);
        Assert.DoesNotThrow(() => GuardNotices.Discard(null));
    }
}
