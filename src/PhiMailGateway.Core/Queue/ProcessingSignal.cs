namespace PhiMailGateway.Queue;

/// <summary>
/// Wakes the queue worker when there is new work, so a message is processed right after its 250
/// instead of at the next poll. Lossy by design: the poll still finds anything a wake-up missed.
/// </summary>
public sealed class ProcessingSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Notify()
    {
        try { _semaphore.Release(); }
        catch (SemaphoreFullException) { /* already signalled */ }
    }

    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _semaphore.WaitAsync(timeout, cancellationToken);
}
