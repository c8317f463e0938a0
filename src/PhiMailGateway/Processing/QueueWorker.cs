using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Processing;

/// <summary>
/// Drives the queue: due messages through the pipeline, due deliveries to the relay, each in
/// parallel up to a bound. Woken by <see cref="ProcessingSignal"/> right after a 250, and polls
/// once a second for retries that came due. On shutdown it stops taking work and lets what is in
/// flight finish for a grace period; anything cut short is still durable in the queue and is
/// picked up again on the next start.
/// </summary>
public sealed partial class QueueWorker(
    MessageQueue queue,
    MessageProcessor processor,
    OutboundDeliverer deliverer,
    ProcessingSignal signal,
    RelayOptions relayOptions,
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
    private readonly Queue<QueuedMessage> _readyMessages = new();
    private readonly Queue<QueuedDelivery> _readyDeliveries = new();
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
        await StartFromAsync(_readyMessages, _processingSlots, m => "m:" + m.QueueId,
            limit => queue.DueMessagesAsync(limit, stoppingToken), m => ct => processor.ProcessAsync(m, ct));
        await StartFromAsync(_readyDeliveries, _deliverySlots, d => "d:" + d.DeliveryId,
            limit => queue.DueDeliveriesAsync(limit, stoppingToken), d => ct => deliverer.DeliverAsync(d, ct));
    }

    /// <summary>
    /// Starts ready items while slots are free. The ready list is refilled from the database only
    /// when it is empty, in batches: under load one query serves many items instead of one query
    /// per finished item.
    /// </summary>
    private async Task StartFromAsync<T>(Queue<T> ready, SemaphoreSlim slots, Func<T, string> keyOf,
        Func<int, Task<IReadOnlyList<T>>> fetch, Func<T, Func<CancellationToken, Task>> workFor)
    {
        if (slots.CurrentCount == 0) return;
        if (ready.Count == 0)
        {
            // Items in flight come back from the query too; ask for enough to fill the batch besides them.
            _finishedDuringFetch.Clear();
            var rows = await fetch(FetchBatch + _inFlight.Count);
            foreach (var row in rows)
            {
                var key = keyOf(row);
                // A row read before its item finished is stale: the item may already be done.
                if (!_inFlight.ContainsKey(key) && !_finishedDuringFetch.ContainsKey(key)) ready.Enqueue(row);
            }
        }
        while (ready.Count > 0 && slots.Wait(0))
        {
            var item = ready.Dequeue();
            if (!Start(keyOf(item), slots, workFor(item))) slots.Release();
        }
    }

    /// <summary>Runs the work in a slot the caller already took; false (and nothing started) when the item is already in flight.</summary>
    private bool Start(string key, SemaphoreSlim slots, Func<CancellationToken, Task> work)
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
            }
            catch (OperationCanceledException) when (_work.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // The queue row is untouched, so the item comes due again at its next attempt time.
                LogWorkFailed(logger, key, e.GetType().Name);
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

    public override void Dispose()
    {
        _work.Dispose();
        _background.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Queue worker loop error ({ExceptionType}); continuing")]
    private static partial void LogLoopError(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "Queue item {Item} failed with {ExceptionType}; it will be retried")]
    private static partial void LogWorkFailed(ILogger logger, string item, string exceptionType);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Shutting down: waiting for {Count} queue items in flight")]
    private static partial void LogDraining(ILogger logger, int count);
}
