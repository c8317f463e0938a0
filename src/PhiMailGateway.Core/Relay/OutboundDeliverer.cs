using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Relay;

/// <summary>
/// One relay attempt for one outbound copy: hand it to the transport, then record per recipient:
/// delivered, failed (5xx: DSN to the sender), or deferred until the next step of the retry
/// schedule; past <c>Relay:MaxQueueLifetime</c> a deferred recipient fails with a DSN too; a
/// TLS-first recipient direct delivery could not take gets its fallback copy, queued in the same
/// transaction. When nothing is pending any more, the spool file of the message is removed.
/// </summary>
public sealed partial class OutboundDeliverer(
    RelayTransports transports,
    FallbackCopyMaker fallbacks,
    IMessageQueue queue,
    RetryPolicy retryPolicy,
    BounceWriter bounces,
    IAuditTrail audit,
    SpoolDirectory spool,
    UnrecordedOutcomes unrecorded,
    Health.GatewayMetrics metrics,
    TimeProvider time,
    ILogger<OutboundDeliverer> logger)
{
    public async Task DeliverAsync(QueuedDelivery delivery, CancellationToken cancellationToken)
    {
        var pending = await queue.PendingRecipientsAsync(delivery.DeliveryId, cancellationToken);
        // Recipients the upstream already answered for good in an attempt whose record did not
        // commit: they are recorded with this attempt, never sent to again (invariant 7).
        var answered = unrecorded.For(delivery.DeliveryId)
            .Where(o => pending.Contains(o.Recipient, StringComparer.OrdinalIgnoreCase)).ToList();
        if (answered.Count > 0) LogNotSentAgain(logger, delivery.DeliveryId, answered.Count);
        delivery.PendingRecipients = answered.Count == 0
            ? pending
            : pending.Where(r => !answered.Any(o => string.Equals(o.Recipient, r, StringComparison.OrdinalIgnoreCase))).ToList();
        var content = new OutboundContent(delivery.ContentPath, delivery.ContentOffset);
        IReadOnlyList<RecipientOutcome> sent;
        if (delivery.PendingRecipients.Count == 0)
        {
            sent = [];
        }
        else if (!File.Exists(delivery.ContentPath))
        {
            LogContentMissing(logger, delivery.DeliveryId);
            sent = delivery.PendingRecipients.Select(r => new RecipientOutcome(r, RecipientStatus.Failed, 0, "queued content is missing")).ToList();
        }
        else
        {
            sent = await transports.For(delivery).SendAsync(new RelayRequest(delivery.DeliveryId, delivery.Sender, delivery.PendingRecipients, content.Open, delivery.RequireTls,
                DateTimeOffset.FromUnixTimeMilliseconds(delivery.CreatedAt)), cancellationToken);
        }
        // Kept before anything below can fail: from here on, these answers must not be asked for again.
        unrecorded.Remember(delivery.DeliveryId, sent);
        IReadOnlyList<RecipientOutcome> outcomes = answered.Count == 0 ? sent : [.. answered, .. sent];

        var now = time.GetUtcNow();
        var queuedAt = DateTimeOffset.FromUnixTimeMilliseconds(delivery.CreatedAt);
        var deferred = outcomes.Where(o => o.Status == RecipientStatus.Deferred).ToList();
        var next = deferred.Count == 0 ? now : retryPolicy.NextAttempt((int)delivery.Attempts + 1, queuedAt, now);
        var expired = deferred.Count > 0 && next is null;
        var giveUp = expired ? deferred.Select(o => o.Recipient).ToHashSet(StringComparer.OrdinalIgnoreCase) : [];

        var failed = outcomes.Where(o => o.Status == RecipientStatus.Failed || giveUp.Contains(o.Recipient)).ToList();
        NewDelivery? dsn = null;
        if (failed.Count > 0 && !delivery.IsDsn)
        {
            var original = new OutboundContent(delivery.ContentPath, delivery.ContentOffset);
            dsn = File.Exists(delivery.ContentPath)
                ? await bounces.WriteAsync(delivery.QueueId, delivery.Sender, queuedAt, failed, original.Open, expired, cancellationToken)
                : await bounces.WriteAsync(delivery.QueueId, delivery.Sender, queuedAt, failed, () => new MemoryStream(), expired, cancellationToken);
        }

        FallbackCopies fallback;
        try
        {
            fallback = delivery.IsDsn ? FallbackCopies.None
                : await fallbacks.MakeAsync(delivery, outcomes.Where(o => o.Status == RecipientStatus.Fallback).ToList(), cancellationToken);
        }
        catch when (dsn is not null)
        {
            BounceWriter.Discard(dsn);
            throw;
        }

        var lastError = deferred.Count > 0 ? $"{deferred[0].Code} {Truncate(deferred[0].Response)}" : null;
        // A DSN is not a disclosure: its attempts are not audit events.
        var events = delivery.IsDsn ? [] : EventsFor(delivery, outcomes, giveUp);
        AttemptRecorded recorded;
        try
        {
            recorded = await queue.RecordAttemptAsync(delivery, outcomes, giveUp, next ?? now, lastError,
                dsn is null ? fallback.Deliveries : [dsn, .. fallback.Deliveries],
                [.. await audit.RowsForAsync(events, cancellationToken), .. fallback.Records], fallback.Guard, cancellationToken);
        }
        catch
        {
            // No row points at the DSN or the fallback copies: the retry writes its own, and these would stay forever.
            if (dsn is not null) BounceWriter.Discard(dsn);
            fallback.Discard();
            throw;
        }
        unrecorded.Forget(delivery.DeliveryId);
        if (events.Count > 0 || fallback.Records.Count > 0) await audit.CommittedAsync(cancellationToken);
        var relayed = outcomes.Count(o => o.Status == RecipientStatus.Delivered);
        // Counted after the record committed: a crash before it leaves the count low, never double.
        if (!delivery.IsDsn) metrics.RelayAttemptRecorded(delivery.Action, relayed, deferred.Count - giveUp.Count, failed.Count);
        LogAttempt(logger, delivery.DeliveryId, relayed, deferred.Count - giveUp.Count, failed.Count, dsn is not null);

        // Once every copy of the message is settled, its spool file and generated copies go. No
        // folder fsync: a deletion undone by a crash leaves a file whose row says Done, which the
        // start-up rescan removes.
        spool.DeleteFinished(recorded.FilesToDelete);
        if (recorded.FilesToDelete.Count > 0) LogFinished(logger, delivery.QueueId);
    }

    /// <summary>What happened to each recipient's copy, for the accounting of disclosures.</summary>
    private static List<AuditEvent> EventsFor(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlySet<string> giveUp) =>
        outcomes.Select(outcome => new AuditEvent(
            outcome.Status switch
            {
                RecipientStatus.Delivered => AuditEventTypes.Relayed,
                RecipientStatus.Failed => AuditEventTypes.Bounced,
                RecipientStatus.Fallback => AuditEventTypes.FellBack,
                _ when giveUp.Contains(outcome.Recipient) => AuditEventTypes.Bounced,
                _ => AuditEventTypes.Deferred,
            },
            delivery.QueueId, delivery.DeliveryId, outcome.Recipient, Detail(outcome))).ToList();

    /// <summary>The method first (a direct copy's DANE/MTA-STS/PKIX, MX, TLS version, certificate), then the reply or reason.</summary>
    private static string Detail(RecipientOutcome outcome) =>
        (outcome.Method is { } method ? method + "; " : "") + (outcome.Status == RecipientStatus.Fallback
            ? "fallback: " + Truncate(outcome.Response)
            : $"{outcome.Code} {Truncate(outcome.Response)}".Trim());

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200];

    [LoggerMessage(EventId = 4901, Level = LogLevel.Information, Message = "{DeliveryId}: {Delivered} delivered, {Deferred} deferred, {Failed} failed, DSN queued: {DsnQueued}")]
    private static partial void LogAttempt(ILogger logger, string deliveryId, int delivered, int deferred, int failed, bool dsnQueued);

    [LoggerMessage(EventId = 4902, Level = LogLevel.Debug, Message = "{QueueId}: all copies settled; spool file removed")]
    private static partial void LogFinished(ILogger logger, string queueId);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Information, Message = "{DeliveryId}: {RecipientCount} recipients already answered by the upstream before a failed record; recorded now, not sent again")]
    private static partial void LogNotSentAgain(ILogger logger, string deliveryId, int recipientCount);

    [LoggerMessage(EventId = 4903, Level = LogLevel.Error, Message = "{DeliveryId}: queued content file is missing; recipients failed")]
    private static partial void LogContentMissing(ILogger logger, string deliveryId);
}

/// <summary>
/// The transport for each copy: TlsFirst copies go straight to the recipient's MX (the direct
/// transport), every other copy to the configured relay (smarthost or outbox). With direct delivery
/// off, a TlsFirst copy still queued takes its fallback.
/// </summary>
public sealed class RelayTransports(IRelayTransport relay, IRelayTransport? direct = null)
{
    public const string TlsFirstAction = "TlsFirst";

    public IRelayTransport For(QueuedDelivery delivery) =>
        delivery.Action == TlsFirstAction ? direct ?? DirectOff.Instance : relay;

    private sealed class DirectOff : IRelayTransport
    {
        public static readonly DirectOff Instance = new();

        public Task<IReadOnlyList<RecipientOutcome>> SendAsync(RelayRequest request, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<RecipientOutcome>>(request.Recipients
                .Select(r => new RecipientOutcome(r, RecipientStatus.Fallback, 0, "Direct:Enabled is false")).ToList());
    }
}
