using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Makes the copies that replace TLS-first copies direct delivery could not take: the message is
/// walked through the pipeline again for those recipients (<see cref="PipelinePass.Fallback"/>),
/// each TlsFirst decision taking its rule's fallback (a pickup notice, S/MIME, or a refusal with a
/// DSN to the sender). The deliverer commits them, with their disclosure records, in the transaction
/// that records the fallback, so a copy is replaced exactly once or not at all.
/// </summary>
public sealed partial class FallbackCopyMaker(
    MessagePipeline pipeline,
    IMessageQueue queue,
    BounceWriter bounces,
    SenderMail senderMail,
    IDisclosureRecorder disclosures,
    ILogger<FallbackCopyMaker> logger)
{
    public async Task<FallbackCopies> MakeAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> fellBack, CancellationToken cancellationToken)
    {
        if (fellBack.Count == 0) return FallbackCopies.None;
        var message = await queue.FindMessageAsync(delivery.QueueId, cancellationToken)
            ?? throw new FallbackCopyNotMadeException($"the message row of {delivery.DeliveryId} is missing");
        var entry = SpoolFile.Read(message.SpoolPath);
        var recipients = fellBack.Select(o => o.Recipient).ToList();
        var outcome = await pipeline.RunAsync(entry, PipelinePass.Fallback(delivery.DeliveryId, recipients, Reason(fellBack[0])), cancellationToken);
        if (outcome.Processed is not { } processed || outcome.Result is not (StageResult.DeliverResult or StageResult.RejectResult))
        {
            foreach (var file in outcome.Processed?.Protection.GeneratedFiles ?? []) File.Delete(file);
            // A stage that failed or held: the TLS-first copy waits and the fallback is tried again (invariant 7).
            throw new FallbackCopyNotMadeException($"the pipeline answered {outcome.Result.GetType().Name}");
        }

        var deliveries = processed.Deliveries();
        if (await bounces.RejectionNoticeAsync(processed, cancellationToken) is { } dsn) deliveries.Add(dsn);
        PreparedSenderMail held;
        try
        {
            // A rule whose fallback is Hold: those copies wait for the sender or IT, who hear of it
            // (nothing, when nothing is held: the receipt went with the message already).
            held = await senderMail.PrepareAsync(processed, cancellationToken, holdIdPrefix: delivery.DeliveryId, mayReceipt: false);
        }
        catch
        {
            new FallbackCopies(deliveries, [], GuardRecords.None, processed.Protection.GeneratedFiles).Discard();
            throw;
        }
        deliveries.AddRange(held.Mails);
        LogMade(logger, delivery.DeliveryId, recipients.Count, processed.Copies.Count, processed.Plan.Rejections.Count, held.Records.Holds.Count);
        return new FallbackCopies(deliveries, disclosures.RecordsFor(processed), held.Records, processed.Protection.GeneratedFiles);
    }

    /// <summary>Why, for the sender's DSN and the audit: the transport's reason, one line, bounded.</summary>
    private static string Reason(RecipientOutcome outcome) =>
        outcome.Response.Length <= 300 ? outcome.Response : outcome.Response[..300];

    [LoggerMessage(EventId = 3120, Level = LogLevel.Information, Message = "{DeliveryId}: direct delivery could not take {RecipientCount} recipient(s); {CopyCount} fallback copies made, {Rejected} refused, {Held} held")]
    private static partial void LogMade(ILogger logger, string deliveryId, int recipientCount, int copyCount, int rejected, int held);
}

/// <summary>
/// The copies replacing fallen-back TLS-first copies (with the sender's hold notice when a fallback
/// holds), their disclosure records, the held copies, and the files they made (removed if the commit fails).
/// </summary>
public sealed record FallbackCopies(IReadOnlyList<NewDelivery> Deliveries, IReadOnlyList<AuditRow> Records, GuardRecords Guard, IReadOnlyList<string> GeneratedFiles)
{
    public static readonly FallbackCopies None = new([], [], GuardRecords.None, []);

    public void Discard()
    {
        foreach (var file in GeneratedFiles) File.Delete(file);
        foreach (var notice in Deliveries.Where(d => d.IsDsn)) BounceWriter.Discard(notice);
    }
}

/// <summary>A fallback copy could not be made now; the delivery is tried again on the schedule.</summary>
public sealed class FallbackCopyNotMadeException(string reason) : Exception($"the fallback copy was not made: {reason}");
