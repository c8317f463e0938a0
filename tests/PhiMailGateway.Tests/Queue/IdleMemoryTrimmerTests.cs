using PhiMailGateway.Queue;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

public class IdleMemoryTrimmerTests
{
    private ManualTimeProvider _clock = null!;
    private int _trims;

    // NUnit runs every test of a fixture on one instance: start each from a fresh clock and count.
    [SetUp]
    public void SetUp()
    {
        _clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 25, 9, 0, 0, TimeSpan.Zero));
        _trims = 0;
    }

    private IdleMemoryTrimmer NewTrimmer() => new(_clock, () => _trims++);

    [Test]
    public void AQueueThatNeverWorked_IsNeverTrimmed()
    {
        var trimmer = NewTrimmer();

        for (var i = 0; i < 60; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(1));
            trimmer.Observe(busy: false);
        }

        Assert.That(_trims, Is.Zero);
    }

    [Test]
    public void AfterWork_TrimsOnceWhenIdleLongEnough_NotBefore()
    {
        var trimmer = NewTrimmer();
        trimmer.Observe(busy: true);

        _clock.Advance(IdleMemoryTrimmer.IdleBeforeTrim - TimeSpan.FromSeconds(1));
        trimmer.Observe(busy: false);
        Assert.That(_trims, Is.Zero, "not while the burst may still be going on");

        _clock.Advance(TimeSpan.FromSeconds(1));
        trimmer.Observe(busy: false);
        Assert.That(_trims, Is.EqualTo(1));

        _clock.Advance(TimeSpan.FromMinutes(5));
        trimmer.Observe(busy: false);
        Assert.That(_trims, Is.EqualTo(1), "one trim per burst, not one per idle turn");
    }

    [Test]
    public void NewWork_ArmsTheNextTrim_AndPostponesIt()
    {
        var trimmer = NewTrimmer();
        trimmer.Observe(busy: true);
        _clock.Advance(IdleMemoryTrimmer.IdleBeforeTrim);
        trimmer.Observe(busy: false);

        _clock.Advance(TimeSpan.FromSeconds(30));
        trimmer.Observe(busy: true);
        _clock.Advance(IdleMemoryTrimmer.IdleBeforeTrim / 2);
        trimmer.Observe(busy: false);
        Assert.That(_trims, Is.EqualTo(1), "the idle time counts from the end of the new work");

        _clock.Advance(IdleMemoryTrimmer.IdleBeforeTrim / 2);
        trimmer.Observe(busy: false);
        Assert.That(_trims, Is.EqualTo(2));
    }
}
