using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Queue;

/// <summary>
/// Drives the queue: due messages through the pipeline, due deliveries to the relay, each in
/// parallel up to a bound. Woken by <see cref="ProcessingSignal"/> right after a 250, and polls
/// once a second for retries that came due. On shutdown it stops taking work and lets what is in
/// flight finish for a grace period; anything cut short is still durable in the queue and is
/// picked up again on the next start.
/// Every failure backs off (invariant 7): the item is not due again before the next step of
/// Relay:RetrySchedule, in its queue row and in memory (<see cref="QueueItemBackoff"/>), since the
/// failure may be the database itself. While the database cannot write, no item starts at all
/// (<see cref="DatabaseWritePause"/>).
/// </summary>
public sealed partial class QueueWorker(
    IMessageQueue queue,
    MessageProcessor processor,
    OutboundDeliverer deliverer,
    Guard.IGuardHolds holds,
    HeldCopyProcessor heldCopies,
    ProcessingSignal signal,
    RelayOptions relayOptions,
    RetryPolicy retryPolicy,
    DatabaseWritePause pause,
    TimeProvider time,
    ILogger<QueueWorker> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    // Processing waits on disk and the database as much as it computes: twice the cores keeps them busy.
    private static readonly int ProcessingConcurrency = Math.Max(4, 2 * Environment.ProcessorCount);
    private readonly SemaphoreSlim _processingSlots = new(ProcessingConcurrency);
    // One thread per processing slot: a slot blocked in an fsync or a commit leaves the others theirs.
    private readonly BackgroundWorkScheduler _background = new(ProcessingConcurrency);
    private readonly SemaphoreSlim _deliverySlots = new(relayOptions.Concurrency);
    private readonly CancellationTokenSource _work = new();
    private readonly IdleMemoryTrimmer _trimmer = new(time);
    private readonly QueueItemBackoff _backoff = new(time);
    private readonly Queue<QueuedMessage> _readyMessages = new();
    private readonly Queue<QueuedDelivery> _readyDeliveries = new();
    private readonly Queue<Guard.GuardHold> _readyHolds = new();
    // Keys whose work finished since the current fetch began (see StartFromAsync).
    private readonly ConcurrentDictionary<string, byte> _finishedDuringFetch = new();
    private const int FetchBatch = 64;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await StartDueWorkAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogLoopError(logger, e.GetType().Name);
                    pause.Report(e);
                }
                _trimmer.Observe(busy: !_inFlight.IsEmpty);
                await signal.WaitAsync(PollInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        var pending = _inFlight.Values.ToArray();
        if (pending.Length > 0)
        {
            LogDraining(logger, pending.Length);
            await Task.WhenAny(Task.WhenAll(pending), Task.Delay(ShutdownGrace, CancellationToken.None));
            await _work.CancelAsync();
            await Task.WhenAll(pending).ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }

    private async Task StartDueWorkAsync(CancellationToken stoppingToken)
    {
        if (!await pause.TryResumeAsync(stoppingToken))
        {
            // Rows read before the pause may be stale by the time it ends: read them again then.
            _readyMessages.Clear();
            _readyDeliveries.Clear();
            _readyHolds.Clear();
            return;
        }
        await StartFromAsync(_readyMessages, _processingSlots, m => "m:" + m.QueueId,
            limit => queue.DueMessagesAsync(limit, stoppingToken), m => ct => processor.ProcessAsync(m, ct),
            (m, next, reason) => queue.DeferMessageAfterFailureAsync(m.QueueId, next, reason, CancellationToken.None), m => m.Attempts);
        await StartFromAsync(_readyDeliveries, _deliverySlots, d => "d:" + d.DeliveryId,
            limit => queue.DueDeliveriesAsync(limit, stoppingToken), d => ct => deliverer.DeliverAsync(d, ct),
            (d, next, reason) => queue.DeferDeliveryAfterFailureAsync(d.DeliveryId, next, reason, CancellationToken.None), d => d.Attempts);
        // Held copies someone released (made now) or nobody confirmed in time (expired now); they
        // share the processing slots, since a release walks the pipeline like a new message.
        await StartFromAsync(_readyHolds, _processingSlots, h => "g:" + h.HoldId,
            limit => holds.DueAsync(time.GetUtcNow(), limit, stoppingToken), h => ct => heldCopies.ProcessAsync(h, ct),
            (h, next, reason) => holds.DeferAsync(h.HoldId, next, reason, CancellationToken.None), h => h.Attempts);
    }

    /// <summary>
    /// Starts ready items while slots are free. The ready list is refilled from the database only
    /// when it is empty, in batches: under load one query serves many items instead of one query
    /// per finished item.
    /// </summary>
    private async Task StartFromAsync<T>(Queue<T> ready, SemaphoreSlim slots, Func<T, string> keyOf,
        Func<int, Task<IReadOnlyList<T>>> fetch, Func<T, Func<CancellationToken, Task>> workFor,
        Func<T, DateTimeOffset, string, Task> recordBackoff, Func<T, long> attemptsOf)
    {
        if (slots.CurrentCount == 0) return;
        if (ready.Count == 0)
        {
            // Items in flight, and items held back in memory only, come back from the query too;
            // ask for enough to fill the batch besides them.
            _finishedDuringFetch.Clear();
            var rows = await fetch(FetchBatch + _inFlight.Count + _backoff.Count);
            foreach (var row in rows)
            {
                var key = keyOf(row);
                // A row read before its item finished is stale: the item may already be done.
                if (!_inFlight.ContainsKey(key) && !_finishedDuringFetch.ContainsKey(key) && !_backoff.IsHeldBack(key)) ready.Enqueue(row);
            }
        }
        while (ready.Count > 0 && slots.Wait(0))
        {
            var item = ready.Dequeue();
            var key = keyOf(item);
            if (!Start(key, slots, workFor(item), e => BackOffAsync(key, attemptsOf(item), e, (next, reason) => recordBackoff(item, next, reason))))
                slots.Release();
        }
    }

    /// <summary>Runs the work in a slot the caller already took; false (and nothing started) when the item is already in flight.</summary>
    private bool Start(string key, SemaphoreSlim slots, Func<CancellationToken, Task> work, Func<Exception, Task> backOff)
    {
        // Reserve the key before the work starts, so a fast finish cannot remove it before it is added.
        if (!_inFlight.TryAdd(key, Task.CompletedTask)) return false;
        // On the queue's own lower-priority threads, so that sessions waiting for their 250 go first.
        var task = _background.Run(RunAsync);
        _inFlight.TryUpdate(key, task, Task.CompletedTask);
        return true;

        async Task RunAsync()
        {
            try
            {
                await work(_work.Token);
                _backoff.Clear(key);
                pause.ConfirmWrite();
            }
            catch (OperationCanceledException) when (_work.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                await backOff(e);
            }
            finally
            {
                _finishedDuringFetch.TryAdd(key, 0);
                _inFlight.TryRemove(key, out _);
                slots.Release();
                signal.Notify();
            }
        }
    }

    /// <summary>
    /// After any failure the item waits at least the next step of the retry schedule: in memory
    /// first, so that it waits even when the database cannot record it, then in its queue row,
    /// which then replaces the memory entry. Never throws: a failure here leaves the entry in force.
    /// </summary>
    private async Task BackOffAsync(string key, long attempts, Exception failure, Func<DateTimeOffset, string, Task> record)
    {
        var wait = retryPolicy.StepAfter((int)Math.Min(int.MaxValue - 1, attempts + 1 + _backoff.UnrecordedFailures(key)));
        var next = time.GetUtcNow() + wait;
        _backoff.HoldBack(key, next);
        pause.Report(failure);
        // While paused the write would fail as well; the memory entry holds the item back until then.
        var recorded = false;
        if (!pause.IsPaused)
        {
            try
            {
                // Only the type: exception messages can quote addresses or content.
                await record(next, "failed: " + failure.GetType().Name);
                // The row says when (and counts the failure); a stale read of it is filtered by
                // _finishedDuringFetch like any other.
                _backoff.Clear(key);
                recorded = true;
            }
            catch (Exception e)
            {
                pause.Report(e);
            }
        }
        LogWorkFailed(logger, key, failure.GetType().Name, wait, recorded);
    }

    public override void Dispose()
    {
        _work.Dispose();
        _background.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Queue worker loop error ({ExceptionType}); continuing")]
    private static partial void LogLoopError(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "Queue item {Item} failed with {ExceptionType}; next try in {Wait} (due time written to the queue: {Recorded})")]
    private static partial void LogWorkFailed(ILogger logger, string item, string exceptionType, TimeSpan wait, bool recorded);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Shutting down: waiting for {Count} queue items in flight")]
    private static partial void LogDraining(ILogger logger, int count);
}
