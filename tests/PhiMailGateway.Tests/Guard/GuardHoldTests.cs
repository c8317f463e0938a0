using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

/// <summary>What a held copy keeps of its verdict, what the audit says of it, and when its window is over.</summary>
public class GuardHoldTests
{
    private static readonly GuardReason Lookalike = new(GuardCheck.Lookalike, GuardAction.Hold, "looks like crown-lab.example, which you have sent to before");
    private static readonly GuardReason NewOne = new(GuardCheck.NewRecipient, GuardAction.Flag, "has not received images from the practice before");
    private static readonly GuardReason Patient = new(GuardCheck.NewPatientRecipient, GuardAction.Hold, "has not received this patient's images before; a@b.example has");

    [Test]
    public void NewGuardHold_HoldAndFlagReasons_KeepsOnlyTheReasonsThatHold()
    {
        var hold = new NewGuardHold("Q1-H1", "x@crovvn-lab.example", [Lookalike, NewOne, Patient], DateTimeOffset.UtcNow);
        Assert.That(hold.ReasonText, Is.EqualTo(Lookalike.Text + "\n" + Patient.Text));
        Assert.That(hold.CheckNames, Is.EqualTo("Lookalike,NewPatientRecipient"));
    }

    [Test]
    public void ReasonLines_OneLinePerReason() =>
        Assert.That(new GuardHold { Reasons = "first\nsecond\n" }.ReasonLines, Is.EqualTo(new[] { "first", "second" }));

    [Test]
    public void IsExpired_FromTheEndOfTheWindowOn_OnlyWhileHeld()
    {
        var end = new DateTimeOffset(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);
        var held = new GuardHold { State = GuardHoldStates.Held, ExpiresAt = end.ToUnixTimeMilliseconds() };
        Assert.That(held.IsExpired(end.AddMilliseconds(-1)), Is.False);
        Assert.That(held.IsExpired(end), Is.True, "the window's last instant is its end");
        Assert.That(new GuardHold { State = GuardHoldStates.Released, ExpiresAt = end.ToUnixTimeMilliseconds() }.IsExpired(end.AddDays(1)), Is.False,
            "a released copy waits for the worker, not for the window");
    }

    [Test]
    public void AuditText_OfAVerdict_EachCheckWhatItDidAndWhy() =>
        Assert.That(GuardAuditText.Of(new GuardVerdict("x@crovvn-lab.example", [Lookalike, NewOne])),
            Is.EqualTo($"Lookalike Hold: {Lookalike.Text}; NewRecipient Flag: {NewOne.Text}"));

    [Test]
    public void AuditText_OfADecision_TheHoldWhoAndTheReasonWhenAny()
    {
        var hold = new GuardHold { HoldId = "Q1-H1" };
        Assert.That(GuardAuditText.Of(new GuardDecision(GuardHoldStates.Released, "IT (admin)", "phoned the lab"), hold), Is.EqualTo("Q1-H1 by IT (admin): phoned the lab"));
        Assert.That(GuardAuditText.Of(new GuardDecision(GuardHoldStates.Expired, "expiry", ""), hold), Is.EqualTo("Q1-H1 by expiry"));
        Assert.That(GuardAuditText.Of(new GuardDecision(GuardHoldStates.Cancelled, "sender", null), hold), Is.EqualTo("Q1-H1 by sender"));
    }
}
