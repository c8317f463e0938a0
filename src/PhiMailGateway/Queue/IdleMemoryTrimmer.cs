namespace PhiMailGateway.Queue;

/// <summary>
/// Gives the memory that queue work used back to the system once the queue has been idle for a
/// while. The GC only returns memory when it collects, and an idle gateway allocates next to
/// nothing, so after a burst of large messages it would keep its peak for as long as it stays
/// idle — when the office is not sending, the memory is better back with the machine. One
/// aggressive collection per burst, when the queue has nothing in flight; its pause (a heap of
/// mostly free space) can only meet a session that happens to be sending then.
/// </summary>
public sealed class IdleMemoryTrimmer(TimeProvider time, Action trim)
{
    /// <summary>How long the queue stays idle before the trim.</summary>
    public static readonly TimeSpan IdleBeforeTrim = TimeSpan.FromSeconds(10);

    private DateTimeOffset _lastBusy = time.GetUtcNow();
    private bool _workSinceTrim;

    public IdleMemoryTrimmer(TimeProvider time)
        : this(time, static () => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true))
    {
    }

    /// <summary>Called on every turn of the queue loop; trims once when work has stopped for <see cref="IdleBeforeTrim"/>.</summary>
    public void Observe(bool busy)
    {
        var now = time.GetUtcNow();
        if (busy)
        {
            _lastBusy = now;
            _workSinceTrim = true;
            return;
        }
        if (!_workSinceTrim || now - _lastBusy < IdleBeforeTrim) return;
        _workSinceTrim = false;
        trim();
    }
}
