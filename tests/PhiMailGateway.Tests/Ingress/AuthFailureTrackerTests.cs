using PhiMailGateway.Configuration;
using PhiMailGateway.Ingress;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

public class AuthFailureTrackerTests
{
    private static readonly SmtpOptions Options = new() { MaxAuthFailures = 3, AuthLockout = TimeSpan.FromMinutes(15) };

    [Test]
    public void AuthFailureTracker_MaxFailuresWithinWindow_LocksOutUntilLockoutPasses()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new AuthFailureTracker(Options, time);

        Assert.That(tracker.RecordFailure("ip:10.0.0.9"), Is.False);
        Assert.That(tracker.RecordFailure("ip:10.0.0.9"), Is.False);
        Assert.That(tracker.IsLockedOut("ip:10.0.0.9"), Is.False, "two failures are not yet a lockout");
        Assert.That(tracker.RecordFailure("ip:10.0.0.9"), Is.True, "the third starts it");
        Assert.That(tracker.IsLockedOut("ip:10.0.0.9"), Is.True);
        Assert.That(tracker.IsLockedOut("ip:10.0.0.10"), Is.False, "other clients are not affected");

        time.Advance(TimeSpan.FromMinutes(14));
        Assert.That(tracker.IsLockedOut("ip:10.0.0.9"), Is.True);
        time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(tracker.IsLockedOut("ip:10.0.0.9"), Is.False, "the lockout passes");
        Assert.That(tracker.RecordFailure("ip:10.0.0.9"), Is.False, "and the count starts again");
    }

    [Test]
    public void AuthFailureTracker_FailuresSpreadBeyondWindow_DoNotAddUp()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new AuthFailureTracker(Options, time);

        tracker.RecordFailure("user:a");
        tracker.RecordFailure("user:a");
        time.Advance(TimeSpan.FromMinutes(16));

        Assert.That(tracker.RecordFailure("user:a"), Is.False, "old failures fell out of the window");
        Assert.That(tracker.IsLockedOut("user:a"), Is.False);
    }

    [Test]
    public void AuthFailureTracker_ManyClients_MemoryStaysBounded()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var tracker = new AuthFailureTracker(Options, time);

        for (var i = 0; i < AuthFailureTracker.MaxEntries * 3; i++)
        {
            tracker.RecordFailure("ip:" + i);
            if (i % 100 == 0) time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.That(tracker.Count, Is.LessThanOrEqualTo(AuthFailureTracker.MaxEntries));
    }

    [Test]
    public async Task AuthFailureTracker_ConcurrentFailures_CountsEveryOne()
    {
        var tracker = new AuthFailureTracker(new SmtpOptions { MaxAuthFailures = 1000, AuthLockout = TimeSpan.FromHours(1) }, TimeProvider.System);
        var started = 0;

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 125; i++)
            {
                if (tracker.RecordFailure("ip:1.2.3.4")) Interlocked.Increment(ref started);
            }
        })));

        Assert.That(started, Is.EqualTo(1), "exactly the 1000th failure starts the lockout");
        Assert.That(tracker.IsLockedOut("ip:1.2.3.4"), Is.True);
    }
}
