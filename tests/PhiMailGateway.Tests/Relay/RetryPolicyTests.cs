using PhiMailGateway.Configuration;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Tests.Relay;

public class RetryPolicyTests
{
    private static readonly DateTimeOffset Queued = new(2025, 4, 1, 10, 0, 0, TimeSpan.Zero);

    private static RetryPolicy Policy(string schedule = "00:01:00,00:05:00,00:15:00,01:00:00", TimeSpan? lifetime = null) =>
        new(new RelayOptions { RetrySchedule = schedule, MaxQueueLifetime = lifetime ?? TimeSpan.FromDays(5) });

    [TestCase(1, 1)]
    [TestCase(2, 5)]
    [TestCase(3, 15)]
    [TestCase(4, 60)]
    [TestCase(5, 60)]
    [TestCase(50, 60)]
    public void RetryPolicy_NthFailure_UsesNthStepAndRepeatsTheLast(int attempts, int minutes)
    {
        var now = Queued.AddMinutes(3);

        var next = Policy().NextAttempt(attempts, Queued, now);

        Assert.That(next, Is.EqualTo(now.AddMinutes(minutes)));
    }

    [Test]
    public void RetryPolicy_ZeroAttempts_UsesFirstStep()
    {
        Assert.That(Policy().NextAttempt(0, Queued, Queued), Is.EqualTo(Queued.AddMinutes(1)));
    }

    [Test]
    public void RetryPolicy_StepWouldPassLifetime_LastTryAtTheLifetime()
    {
        var policy = Policy(lifetime: TimeSpan.FromHours(2));
        var now = Queued.AddMinutes(90);

        var next = policy.NextAttempt(10, Queued, now);

        Assert.That(next, Is.EqualTo(Queued.AddHours(2)), "one last try exactly at the lifetime");
    }

    [Test]
    public void RetryPolicy_AtOrAfterLifetime_GivesUp()
    {
        var policy = Policy(lifetime: TimeSpan.FromHours(2));

        Assert.That(policy.NextAttempt(10, Queued, Queued.AddHours(2)), Is.Null, "at the deadline: bounce");
        Assert.That(policy.NextAttempt(10, Queued, Queued.AddDays(1)), Is.Null);
        Assert.That(policy.IsExpired(Queued, Queued.AddHours(2)), Is.True);
        Assert.That(policy.IsExpired(Queued, Queued.AddHours(2).AddTicks(-1)), Is.False);
    }

    [Test]
    public void RetryPolicy_EmptySchedule_Throws()
    {
        Assert.Throws<ArgumentException>(() => Policy(schedule: "nonsense"));
    }
}
