namespace PhiMailGateway.Storage;

/// <summary>
/// Group commit for one durable step (a folder fsync, noting the audit head): callers that arrive
/// while it runs share the next run instead of each starting their own, so under load one fsync
/// serves many messages and when idle a caller waits for exactly one run. A caller's task
/// completes after a run that started after its call, so whatever it wrote before calling is
/// covered; a failed run fails the callers it was serving.
/// </summary>
public sealed class CoalescingFlush(Func<Task> flush)
{
    private readonly Lock _gate = new();
    private bool _running;
    private TaskCompletionSource? _next;

    public CoalescingFlush(Action flush)
        : this(() => { flush(); return Task.CompletedTask; })
    {
    }

    public Task FlushAsync()
    {
        lock (_gate)
        {
            if (_running) return (_next ??= NewRound()).Task;
            _running = true;
        }
        var first = NewRound();
        _ = Task.Run(() => RunAsync(first));
        return first.Task;
    }

    private async Task RunAsync(TaskCompletionSource? round)
    {
        while (round is not null)
        {
            try
            {
                await flush();
                round.SetResult();
            }
            catch (Exception e)
            {
                round.SetException(e);
            }
            lock (_gate)
            {
                round = _next;
                _next = null;
                if (round is null) _running = false;
            }
        }
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
