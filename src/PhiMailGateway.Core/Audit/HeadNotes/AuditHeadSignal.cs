namespace PhiMailGateway.Audit.HeadNotes;

/// <summary>
/// Raised after a commit advanced the chain (once per noted head); the head-note publisher waits
/// on it. Raising never blocks and never fails, so the audit commit path stays as fast as it was:
/// signals that arrive while one is pending merge into it.
/// </summary>
public sealed class AuditHeadSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Raise()
    {
        try { _semaphore.Release(); }
        catch (SemaphoreFullException) { /* already pending */ }
    }

    /// <returns>True when raised, false when <paramref name="timeout"/> passed first.</returns>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _semaphore.WaitAsync(timeout, cancellationToken);
}
