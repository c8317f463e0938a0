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
    ILogger<QueueWorker> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ShutdownGrace = TimeSpan.FromSeconds(15);

    private readonly ConcurrentDictionary<string, Task> _inFlight = new();
    // Processing waits on disk and the database as much as it computes: twice the cores keeps them busy.
    private readonly SemaphoreSlim _processingSlots = new(Math.Max(4, 2 * Environment.ProcessorCount));
    private readonly SemaphoreSlim _deliverySlots = new(relayOptions.Concurrency);
    private readonly CancellationTokenSource _work = new();

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
        // Ask only for what free slots can take (plus what is in flight, which comes back too):
        // under load the queue is long and this loop runs after every completed item.
        var inFlight = _inFlight.Count;
        if (_processingSlots.CurrentCount > 0)
        {
            foreach (var message in await queue.DueMessagesAsync(_processingSlots.CurrentCount + inFlight, stoppingToken))
                Start("m:" + message.QueueId, _processingSlots, ct => processor.ProcessAsync(message, ct));
        }
        if (_deliverySlots.CurrentCount > 0)
        {
            foreach (var delivery in await queue.DueDeliveriesAsync(_deliverySlots.CurrentCount + inFlight, stoppingToken))
                Start("d:" + delivery.DeliveryId, _deliverySlots, ct => deliverer.DeliverAsync(delivery, ct));
        }
    }

    private void Start(string key, SemaphoreSlim slots, Func<CancellationToken, Task> work)
    {
        // Reserve the key before the work starts, so a fast finish cannot remove it before it is added.
        if (!_inFlight.TryAdd(key, Task.CompletedTask)) return;
        var task = Task.Run(async () =>
        {
            await slots.WaitAsync(_work.Token);
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
                slots.Release();
                _inFlight.TryRemove(key, out _);
                signal.Notify();
            }
        });
        _inFlight.TryUpdate(key, task, Task.CompletedTask);
    }

    public override void Dispose()
    {
        _work.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Error, Message = "Queue worker loop error ({ExceptionType}); continuing")]
    private static partial void LogLoopError(ILogger logger, string exceptionType);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Error, Message = "Queue item {Item} failed with {ExceptionType}; it will be retried")]
    private static partial void LogWorkFailed(ILogger logger, string item, string exceptionType);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Information, Message = "Shutting down: waiting for {Count} queue items in flight")]
    private static partial void LogDraining(ILogger logger, int count);
}
