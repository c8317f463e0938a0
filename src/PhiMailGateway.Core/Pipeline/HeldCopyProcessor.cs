using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// The queue worker's part of a held copy's life after the sender or IT decided: a released copy
/// is walked through the pipeline again for its recipient alone (the rules in force decide how it
/// goes: S/MIME, pickup, relay; a copy its rule held goes by pickup, see <see cref="RoutingDecision.Released"/>)
/// and committed with its disclosure record; a copy nobody decided on
/// within <c>Guard:ConfirmWindow</c> expires, and its sender is told. Either may finish the message.
/// </summary>
public sealed partial class HeldCopyProcessor(
    MessagePipeline pipeline,
    IMessageQueue queue,
    IGuardHolds holds,
    GuardNotices notices,
    BounceWriter bounces,
    IDisclosureRecorder disclosures,
    IAuditTrail trail,
    SpoolDirectory spool,
    ProcessingSignal signal,
    TimeProvider time,
    ILogger<HeldCopyProcessor> logger)
{
    public Task ProcessAsync(GuardHold hold, CancellationToken cancellationToken) =>
        hold.State == GuardHoldStates.Released ? ReleaseAsync(hold, cancellationToken)
        : hold.IsExpired(time.GetUtcNow()) ? ExpireAsync(hold, cancellationToken)
        : Task.CompletedTask;

    private async Task ExpireAsync(GuardHold hold, CancellationToken cancellationToken)
    {
        var decision = new GuardDecision(GuardHoldStates.Expired, "expiry", null);
        var notice = await notices.ExpiredAsync(hold, cancellationToken);
        HoldDecided decided;
        try
        {
            var events = await trail.RowsForAsync([new AuditEvent(AuditEventTypes.GuardExpired, hold.QueueId, null, hold.Recipient,
                GuardAuditText.Of(decision, hold))], cancellationToken);
            decided = await holds.DecideAsync(hold.HoldId, decision, events, notice, cancellationToken);
        }
        catch
        {
            GuardNotices.Discard(notice);
            throw;
        }
        if (!decided.Changed)
        {
            // Decided by someone in the meantime: their decision stands, and nobody is told twice.
            GuardNotices.Discard(notice);
            return;
        }
        await trail.CommittedAsync(cancellationToken);
        spool.DeleteFinished(decided.FilesToDelete);
        LogExpired(logger, hold.HoldId, notice is not null);
        signal.Notify();
    }

    private async Task ReleaseAsync(GuardHold hold, CancellationToken cancellationToken)
    {
        var message = await queue.FindMessageAsync(hold.QueueId, cancellationToken)
            ?? throw new InvalidOperationException($"hold {hold.HoldId}: its message row is missing");
        var entry = SpoolFile.Read(message.SpoolPath);
        var ruleHeld = hold.Checks.Split(',').Contains(nameof(GuardCheck.RuleHold), StringComparer.Ordinal);
        var outcome = await pipeline.RunAsync(entry, PipelinePass.Release(hold.HoldId, hold.Recipient, ruleHeld ? ReleasedFromRuleHold : null), cancellationToken);
        if (outcome.Processed is not { } processed || outcome.Result is not (StageResult.DeliverResult or StageResult.RejectResult))
        {
            foreach (var file in outcome.Processed?.Protection.GeneratedFiles ?? []) File.Delete(file);
            // A stage that failed, or a rule missing now: tried again on the retry schedule (invariant 7).
            throw new HeldCopyNotMadeException(outcome.Result.GetType().Name);
        }

        var deliveries = processed.Deliveries();
        if (await bounces.RejectionNoticeAsync(processed, cancellationToken) is { } dsn) deliveries.Add(dsn);

        HoldDecided committed;
        try
        {
            committed = await holds.CommitReleaseAsync(hold.HoldId, deliveries, disclosures.RecordsFor(processed), cancellationToken);
        }
        catch
        {
            Discard(processed, deliveries);
            throw;
        }
        if (!committed.Changed)
        {
            Discard(processed, deliveries);
            return;
        }
        await disclosures.CommittedAsync(cancellationToken);
        spool.DeleteFinished(committed.FilesToDelete);
        LogReleased(logger, hold.HoldId, processed.Copies.Count);
        signal.Notify();
    }

    /// <summary>Why a copy its rule held takes the fallback's release: the sender or IT said to send it.</summary>
    public const string ReleasedFromRuleHold = "released after its rule held it";

    private static void Discard(ProcessedMessage processed, IEnumerable<NewDelivery> deliveries)
    {
        foreach (var file in processed.Protection.GeneratedFiles) File.Delete(file);
        foreach (var notice in deliveries.Where(d => d.IsDsn)) BounceWriter.Discard(notice);
    }


    [LoggerMessage(EventId = 3106, Level = LogLevel.Information, Message = "{HoldId}: released copy made into {CopyCount} outbound copies")]
    private static partial void LogReleased(ILogger logger, string holdId, int copyCount);

    [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "{HoldId}: nobody confirmed the held copy in time; cancelled (notice queued: {NoticeQueued})")]
    private static partial void LogExpired(ILogger logger, string holdId, bool noticeQueued);
}

/// <summary>A released copy could not be made now (a stage deferred or held); the worker retries it on the schedule.</summary>
public sealed class HeldCopyNotMadeException(string result) : Exception($"the pipeline answered {result} for a released copy");
