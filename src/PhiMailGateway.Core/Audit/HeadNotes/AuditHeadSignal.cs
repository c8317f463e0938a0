namespace PhiMailGateway.Audit.HeadNotes;

/// <summary>
/// Raised after a commit advanced the chain (once per noted head); the head-note publisher waits
/// on it. Raising is one interlocked exchange when a signal is already pending (always, when head
/// notes are off and nobody waits), so the audit commit path stays as fast as it was and never
/// throws. A raise that lands between a wake-up and the reset of the flag is merged into that
/// wake-up: the publisher reads the head after the reset, so it sees that commit anyway.
/// </summary>
public sealed class AuditHeadSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);
    private int _pending;

    public void Raise()
    {
        if (Interlocked.Exchange(ref _pending, 1) == 0) _semaphore.Release();
    }

    /// <returns>True when raised, false when <paramref name="timeout"/> passed first.</returns>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!await _semaphore.WaitAsync(timeout, cancellationToken)) return false;
        Volatile.Write(ref _pending, 0);
        return true;
    }
}
