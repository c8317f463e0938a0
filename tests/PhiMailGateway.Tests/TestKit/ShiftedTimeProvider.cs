namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// The system clock plus an offset the test moves forward. Unlike <see cref="ManualTimeProvider"/>,
/// time still passes and timers still fire, so a running gateway keeps working while the test jumps
/// days ahead (for expiry and retention).
/// </summary>
public sealed class ShiftedTimeProvider : TimeProvider
{
    private long _offsetTicks;

    public TimeSpan Offset => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow() + Offset;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}
