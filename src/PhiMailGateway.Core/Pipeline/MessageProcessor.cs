using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Takes one accepted message from the queue, runs the pipeline on it, and records the decision:
/// outbound copies enqueued (Deliver), retry later (Defer), set aside in <c>hold/</c> (Hold), or
/// refused with a DSN to the sender (Reject). Runs after the 250, never inside the SMTP session.
/// </summary>
public sealed partial class MessageProcessor(
    MessagePipeline pipeline,
    MessageQueue queue,
    SpoolDirectory spool,
    SpoolRecovery recovery,
    BounceWriter bounces,
    IDisclosureRecorder disclosures,
    ProcessingSignal signal,
    Health.GatewayMetrics metrics,
    TimeProvider time,
    ILogger<MessageProcessor> logger)
{
    /// <summary>After this many deferrals (a stage keeps failing) the message is held for a person.</summary>
    public const int MaxProcessingAttempts = 5;

    public async Task ProcessAsync(QueuedMessage message, CancellationToken cancellationToken)
    {
        SpoolEntry entry;
        try
        {
            entry = SpoolFile.Read(message.SpoolPath);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            var corruptPath = File.Exists(message.SpoolPath) ? MoveToCorrupt(message.SpoolPath, e) : null;
            await queue.SetMessageStateAsync(message.QueueId, MessageStates.Corrupt, "spool file unreadable", corruptPath, null, cancellationToken);
            return;
        }

        await using var context = new MessageContext(message.QueueId, entry.Envelope, entry);
        var result = await pipeline.RunAsync(context, cancellationToken);
        switch (result)
        {
            case StageResult.DeliverResult:
                var deliveries = context.Outbound.Select((copy, i) => new NewDelivery(
                    $"{message.QueueId}-{i + 1}", entry.Envelope.Sender, copy.Recipients, copy.Content.Path, copy.Content.Offset,
                    copy.Action, copy.RuleName, copy.RequireTls, IsDsn: false)).ToList();
                if (await RejectionNoticeAsync(context, cancellationToken) is { } notice) deliveries.Add(notice);
                // The disclosure records commit with the copies, or neither does (invariant 2).
                await queue.CompleteProcessingAsync(message.QueueId, deliveries,
                    (c, t) => disclosures.RecordAsync(c, t, context, deliveries, cancellationToken), cancellationToken);
                await disclosures.CommittedAsync(cancellationToken);
                metrics.RecipientsRejected(context.Rejections.Count);
                LogProcessed(logger, message.QueueId, deliveries.Count, deliveries.Sum(d => d.Recipients.Count));
                signal.Notify();
                break;

            case StageResult.DeferResult defer when message.Attempts + 1 < MaxProcessingAttempts:
                DeleteGenerated(context);
                var wait = TimeSpan.FromSeconds(Math.Min(3600, 30 * Math.Pow(2, message.Attempts)));
                await queue.DeferMessageAsync(message.QueueId, time.GetUtcNow() + wait, defer.Reason, cancellationToken);
                LogDeferred(logger, message.QueueId, message.Attempts + 1, wait);
                break;

            case StageResult.DeferResult defer:
                await HoldAsync(message, context, $"deferred {MaxProcessingAttempts} times, last: {defer.Reason}", cancellationToken);
                break;

            case StageResult.HoldResult hold:
                await HoldAsync(message, context, hold.Reason, cancellationToken);
                break;

            case StageResult.RejectResult reject:
                DeleteGenerated(context);
                if (context.Rejections.Count == 0)
                    context.Rejections.AddRange(entry.Envelope.Recipients.Select(r => (r, reject.Reason)));
                var dsn = await RejectionNoticeAsync(context, cancellationToken);
                await queue.SetMessageStateAsync(message.QueueId, MessageStates.Rejected, reject.Reason, null, dsn is null ? null : [dsn], cancellationToken,
                    (c, t) => disclosures.RecordAsync(c, t, context, dsn is null ? [] : [dsn], cancellationToken));
                await disclosures.CommittedAsync(cancellationToken);
                metrics.RecipientsRejected(context.Rejections.Count);
                LogRejected(logger, message.QueueId);
                if (dsn is null && await queue.TryFinishMessageAsync(message.QueueId, cancellationToken))
                {
                    // Nobody to notify (a bounce is never bounced): nothing is left to send.
                    File.Delete(message.SpoolPath);
                }
                signal.Notify();
                break;
        }
    }

    /// <summary>A DSN telling the sender which recipients a Reject rule refused, and why.</summary>
    private Task<NewDelivery?> RejectionNoticeAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Rejections.Count == 0) return Task.FromResult<NewDelivery?>(null);
        var failed = context.Rejections.Select(r => new RecipientOutcome(r.Recipient, RecipientStatus.Failed, 550, "5.7.1 " + r.Message)).ToList();
        return bounces.WriteAsync(context.QueueId, context.Envelope.Sender, context.Envelope.ReceivedAt, failed, context.OpenMessage, expired: false, cancellationToken);
    }

    private async Task HoldAsync(QueuedMessage message, MessageContext context, string reason, CancellationToken cancellationToken)
    {
        DeleteGenerated(context);
        var target = Path.Combine(spool.Hold, Path.GetFileName(message.SpoolPath));
        File.Move(message.SpoolPath, target, overwrite: false);
        DirectorySync.Flush(spool.Hold);
        try
        {
            await queue.SetMessageStateAsync(message.QueueId, MessageStates.Held, reason, target, null, cancellationToken);
        }
        catch
        {
            // The row still points at incoming/: put the file back, or the next attempt would find
            // it missing and call the message corrupt while it sits unnoticed in hold/.
            File.Move(target, message.SpoolPath, overwrite: false);
            DirectorySync.Flush(Path.GetDirectoryName(message.SpoolPath)!);
            throw;
        }
        metrics.MessageHeld();
        LogHeld(logger, message.QueueId);
    }

    private string MoveToCorrupt(string path, Exception reason)
    {
        recovery.MoveToCorrupt(path, reason);
        return Path.Combine(spool.Corrupt, Path.GetFileName(path));
    }

    private static void DeleteGenerated(MessageContext context)
    {
        foreach (var file in context.GeneratedFiles) File.Delete(file);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "{QueueId}: processed into {DeliveryCount} outbound copies for {RecipientCount} recipients")]
    private static partial void LogProcessed(ILogger logger, string queueId, int deliveryCount, int recipientCount);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "{QueueId}: processing deferred (attempt {Attempt}), next try in {Wait}")]
    private static partial void LogDeferred(ILogger logger, string queueId, long attempt, TimeSpan wait);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "{QueueId}: held for review in hold/")]
    private static partial void LogHeld(ILogger logger, string queueId);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "{QueueId}: rejected by the pipeline; sender notified")]
    private static partial void LogRejected(ILogger logger, string queueId);
}
