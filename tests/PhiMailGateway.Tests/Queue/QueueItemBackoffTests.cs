using PhiMailGateway.Queue;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

public class QueueItemBackoffTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public void QueueItemBackoff_HeldBack_UntilItsTimeAndNotAfter()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        backoff.HoldBack("d:1", Start.AddSeconds(60));

        Assert.That(backoff.IsHeldBack("d:1"), Is.True, "not before its time");
        Assert.That(backoff.IsHeldBack("d:2"), Is.False, "other items are not affected");
        clock.Advance(TimeSpan.FromSeconds(59.999));
        Assert.That(backoff.IsHeldBack("d:1"), Is.True);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(backoff.IsHeldBack("d:1"), Is.False, "due once its time has come");
    }

    [Test]
    public void QueueItemBackoff_FailuresTheDatabaseDidNotRecord_AreCountedUntilCleared()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        backoff.HoldBack("m:1", Start.AddSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(backoff.IsHeldBack("m:1"), Is.False);
        backoff.HoldBack("m:1", Start.AddSeconds(10));

        Assert.That(backoff.UnrecordedFailures("m:1"), Is.EqualTo(2), "so the next wait is a later step of the schedule");
        Assert.That(backoff.IsHeldBack("m:1"), Is.True);
        backoff.Clear("m:1");
        Assert.That(backoff.UnrecordedFailures("m:1"), Is.Zero, "the row carries the wait and counts the failure now");
        Assert.That(backoff.IsHeldBack("m:1"), Is.False, "so `queue retry` on the row takes effect");
    }

    [Test]
    public void QueueItemBackoff_ManyExpiredEntries_AreSweptAway()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        for (var i = 0; i < 300; i++) backoff.HoldBack($"m:{i}", Start.AddSeconds(1));
        clock.Advance(TimeSpan.FromSeconds(2));

        backoff.HoldBack("m:new", Start.AddSeconds(60));

        Assert.That(backoff.Count, Is.EqualTo(1), "entries never looked up again do not pile up");
        Assert.That(backoff.IsHeldBack("m:new"), Is.True);
    }
}
