namespace PhiMailGateway.Ingress;

/// <summary>
/// One cancellation source per session that ends a wait on the client: armed with the idle timeout
/// before each read or write, disarmed after it, cancelled at once for an eviction, and linked to the
/// service's stop so a shutdown reaches every session through the same token. One timer per session,
/// not one per read: no allocation per command or per DATA chunk.
/// </summary>
internal sealed class IdleTimer : IDisposable
{
    private readonly CancellationTokenSource _source;
    private volatile bool _evicted;

    public IdleTimer(CancellationToken stopping)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        Stopping = stopping;
    }

    public CancellationToken Token => _source.Token;
    public CancellationToken Stopping { get; }
    public bool Evicted => _evicted;

    public void Arm(TimeSpan timeout) => _source.CancelAfter(timeout);

    public void Disarm() => _source.CancelAfter(Timeout.InfiniteTimeSpan);

    public void Evict()
    {
        _evicted = true;
        try
        {
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The session ended meanwhile.
        }
    }

    public void Dispose() => _source.Dispose();
}
