namespace PhiMailGateway.Storage;

/// <summary>
/// Group commit for one durable step (a folder fsync, noting the audit head): callers that arrive
/// while it runs share the next run instead of each starting their own, so under load one fsync
/// serves many messages and when idle a caller waits for exactly one run. A caller's task
/// completes after a run that started after its call, so whatever it wrote before calling is
/// covered; a failed run fails the callers it was serving.
/// </summary>
/// <param name="flush">The durable step.</param>
/// <param name="firstRoundOnCaller">When idle, run the round on the caller's thread (callers that wait
/// for it anyway); false hands every round to a pool thread (a caller that must not block, such as
/// the console logger's thread, which keeps appending lines meanwhile).</param>
public sealed class CoalescingFlush(Func<Task> flush, bool firstRoundOnCaller = true)
{
    private readonly Lock _gate = new();
    private bool _running;
    private TaskCompletionSource? _next;

    public CoalescingFlush(Action flush, bool firstRoundOnCaller = true)
        : this(() => { flush(); return Task.CompletedTask; }, firstRoundOnCaller)
    {
    }

    public async Task FlushAsync()
    {
        TaskCompletionSource? waitFor = null;
        lock (_gate)
        {
            if (_running) waitFor = _next ??= NewRound();
            else _running = true;
        }
        if (waitFor is null && !firstRoundOnCaller)
        {
            waitFor = NewRound();
            var first = waitFor;
            _ = Task.Run(() => RunAsync(first));
        }
        if (waitFor is not null)
        {
            await waitFor.Task;
            return;
        }

        // Nobody was flushing: run this round on the caller's own thread (no hand-off to another
        // thread and back, which cost more than the fsync when idle). Rounds requested meanwhile
        // run on a pool thread, so this caller returns as soon as its own round is done.
        Exception? failure = null;
        try
        {
            await flush();
        }
        catch (Exception e)
        {
            failure = e;
        }
        TaskCompletionSource? next;
        lock (_gate)
        {
            next = _next;
            _next = null;
            if (next is null) _running = false;
        }
        if (next is not null) _ = Task.Run(() => RunAsync(next));
        if (failure is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
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
