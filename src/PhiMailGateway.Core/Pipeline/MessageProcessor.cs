using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
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
    IMessageQueue queue,
    SpoolDirectory spool,
    SpoolRecovery recovery,
    BounceWriter bounces,
    SenderMail senderMail,
    IDisclosureRecorder disclosures,
    ProcessingSignal signal,
    RetryPolicy retryPolicy,
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
            await queue.SetMessageStateAsync(message.QueueId, MessageStates.Corrupt, "spool file unreadable", corruptPath, cancellationToken);
            return;
        }

        var outcome = await pipeline.RunAsync(entry, cancellationToken);
        switch (outcome.Result)
        {
            case StageResult.DeliverResult when outcome.Processed is { } processed:
                var sendAfter = senderMail.SendAfter(processed);
                var deliveries = processed.Deliveries(sendAfter);
                if (await bounces.RejectionNoticeAsync(processed, cancellationToken) is { } notice) deliveries.Add(notice);
                PreparedSenderMail guard;
                try
                {
                    guard = await senderMail.PrepareAsync(processed, cancellationToken);
                }
                catch
                {
                    DeleteGenerated(outcome);
                    foreach (var bounce in deliveries.Where(d => d.IsDsn)) BounceWriter.Discard(bounce);
                    throw;
                }
                deliveries.AddRange(guard.Mails);
                // The disclosure records commit with the copies, or neither does (invariant 2); the
                // held copies commit with them, so none is lost and none leaves.
                try
                {
                    await queue.CommitDisclosureAsync(new MessageDisposition(message.QueueId, MessageStates.Processed, null), deliveries,
                        disclosures.RecordsFor(processed), guard.Records, cancellationToken);
                }
                catch
                {
                    // Nothing committed points at the copies: the retry makes its own.
                    DeleteGenerated(outcome);
                    foreach (var bounce in deliveries.Where(d => d.IsDsn)) BounceWriter.Discard(bounce);
                    throw;
                }
                await disclosures.CommittedAsync(cancellationToken);
                metrics.RecipientsRejected(processed.Plan.Rejections.Count);
                LogProcessed(logger, message.QueueId, deliveries.Count, deliveries.Sum(d => d.Recipients.Count));
                if (guard.Records.Holds.Count > 0) LogGuardHeld(logger, message.QueueId, guard.Records.Holds.Count, guard.Mails.Count > 0);
                signal.Notify();
                break;

            case StageResult.RejectResult reject when outcome.Processed is { } processed:
                DeleteGenerated(outcome);
                var dsn = await bounces.RejectionNoticeAsync(processed, cancellationToken);
                try
                {
                    IReadOnlyList<NewDelivery> notices = dsn is null ? [] : [dsn];
                    await queue.CommitDisclosureAsync(new MessageDisposition(message.QueueId, MessageStates.Rejected, reject.Reason), notices,
                        disclosures.RecordsFor(processed), GuardRecords.None, cancellationToken);
                }
                catch when (dsn is not null)
                {
                    BounceWriter.Discard(dsn);
                    throw;
                }
                await disclosures.CommittedAsync(cancellationToken);
                metrics.RecipientsRejected(processed.Plan.Rejections.Count);
                LogRejected(logger, message.QueueId);
                if (dsn is null && await queue.TryFinishMessageAsync(message.QueueId, cancellationToken))
                {
                    // Nobody to notify (a bounce is never bounced): nothing is left to send.
                    File.Delete(message.SpoolPath);
                }
                signal.Notify();
                break;

            case StageResult.DeferResult defer when message.Attempts + 1 < MaxProcessingAttempts:
                DeleteGenerated(outcome);
                // One schedule for every failure (invariant 7): IT tunes Relay:RetrySchedule once.
                var wait = retryPolicy.StepAfter((int)Math.Min(int.MaxValue - 1, message.Attempts + 1));
                await queue.DeferMessageAsync(message.QueueId, time.GetUtcNow() + wait, defer.Reason, cancellationToken);
                LogDeferred(logger, message.QueueId, message.Attempts + 1, wait);
                break;

            case StageResult.DeferResult defer:
                await HoldAsync(message, outcome, $"deferred {MaxProcessingAttempts} times, last: {defer.Reason}", cancellationToken);
                break;

            case StageResult.HoldResult hold:
                await HoldAsync(message, outcome, hold.Reason, cancellationToken);
                break;

            default:
                // Deliver or Reject without the stages' outputs cannot be recorded: nothing leaves unrecorded.
                await HoldAsync(message, outcome, $"pipeline answered {outcome.Result.GetType().Name} without its outputs", cancellationToken);
                break;
        }
    }

    private async Task HoldAsync(QueuedMessage message, PipelineOutcome outcome, string reason, CancellationToken cancellationToken)
    {
        DeleteGenerated(outcome);
        var target = Path.Combine(spool.Hold, Path.GetFileName(message.SpoolPath));
        File.Move(message.SpoolPath, target, overwrite: false);
        DirectorySync.Flush(spool.Hold);
        try
        {
            await queue.SetMessageStateAsync(message.QueueId, MessageStates.Held, reason, target, cancellationToken);
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

    /// <summary>Files made for copies that do not go out (the Protection stage already removed those of a walk it stopped).</summary>
    private static void DeleteGenerated(PipelineOutcome outcome)
    {
        foreach (var file in outcome.Processed?.Protection.GeneratedFiles ?? []) File.Delete(file);
    }

    [LoggerMessage(EventId = 3101, Level = LogLevel.Debug, Message = "{QueueId}: processed into {DeliveryCount} outbound copies for {RecipientCount} recipients")]
    private static partial void LogProcessed(ILogger logger, string queueId, int deliveryCount, int recipientCount);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "{QueueId}: processing deferred (attempt {Attempt}), next try in {Wait}")]
    private static partial void LogDeferred(ILogger logger, string queueId, long attempt, TimeSpan wait);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Warning, Message = "{QueueId}: held for review in hold/")]
    private static partial void LogHeld(ILogger logger, string queueId);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "{QueueId}: rejected by the pipeline; sender notified")]
    private static partial void LogRejected(ILogger logger, string queueId);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Information, Message = "{QueueId}: {HeldCount} copies held by the guard until confirmed (notice queued: {NoticeQueued})")]
    private static partial void LogGuardHeld(ILogger logger, string queueId, int heldCount, bool noticeQueued);
}
