using PhiMailGateway.Processing;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Processing;

public class QueueItemBackoffTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 8, 0, 0, TimeSpan.Zero);

    [Test]
    public void QueueItemBackoff_HeldBack_UntilItsTimeAndNotAfter()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        backoff.HoldBack("d:1", Start.AddSeconds(60), recorded: true);

        Assert.That(backoff.IsHeldBack("d:1"), Is.True, "not before its time");
        Assert.That(backoff.IsHeldBack("d:2"), Is.False, "other items are not affected");
        clock.Advance(TimeSpan.FromSeconds(59.999));
        Assert.That(backoff.IsHeldBack("d:1"), Is.True);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(backoff.IsHeldBack("d:1"), Is.False, "due once its time has come");
        Assert.That(backoff.Count, Is.Zero, "a recorded entry is dropped once it is due: the row carries the rest");
    }

    [Test]
    public void QueueItemBackoff_FailuresTheDatabaseDidNotRecord_AreCountedUntilOneIsRecorded()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        backoff.HoldBack("m:1", Start.AddSeconds(1), recorded: false);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.That(backoff.IsHeldBack("m:1"), Is.False);
        backoff.HoldBack("m:1", Start.AddSeconds(10), recorded: false);

        Assert.That(backoff.UnrecordedFailures("m:1"), Is.EqualTo(2), "so the next wait is a later step of the schedule");
        backoff.HoldBack("m:1", Start.AddSeconds(10), recorded: true);
        Assert.That(backoff.UnrecordedFailures("m:1"), Is.Zero, "the row's attempts count it now");
        backoff.Clear("m:1");
        Assert.That(backoff.IsHeldBack("m:1"), Is.False);
    }

    [Test]
    public void QueueItemBackoff_ManyExpiredEntries_AreSweptAway()
    {
        var clock = new ManualTimeProvider(Start);
        var backoff = new QueueItemBackoff(clock);
        for (var i = 0; i < 300; i++) backoff.HoldBack($"m:{i}", Start.AddSeconds(1), recorded: true);
        clock.Advance(TimeSpan.FromSeconds(2));

        backoff.HoldBack("m:new", Start.AddSeconds(60), recorded: true);

        Assert.That(backoff.Count, Is.EqualTo(1), "entries never looked up again do not pile up");
        Assert.That(backoff.IsHeldBack("m:new"), Is.True);
    }
}
