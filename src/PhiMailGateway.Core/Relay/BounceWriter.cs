using System.Security.Cryptography;
using MimeKit;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Relay;

/// <summary>
/// Writes a DSN for failed recipients into <c>spool/outbound/</c> and returns it as a delivery to
/// enqueue. Returns null when there is nobody to tell: a bounce is never bounced (empty sender).
/// </summary>
public sealed class BounceWriter(DsnBuilder builder, SpoolDirectory spool)
{
    public async Task<NewDelivery?> WriteAsync(string queueId, string originalSender, DateTimeOffset arrival,
        IReadOnlyList<RecipientOutcome> failed, Func<Stream> openOriginal, bool expired, CancellationToken cancellationToken)
    {
        if (failed.Count == 0 || !DsnBuilder.ShouldBounce(originalSender)) return null;

        MimeMessage dsn;
        await using (var original = openOriginal())
        {
            dsn = builder.Build(originalSender, queueId, arrival, failed, original, expired);
        }

        var deliveryId = $"{queueId}-B{Convert.ToHexString(RandomNumberGenerator.GetBytes(3))}";
        var path = Path.Combine(spool.Outbound, deliveryId + ".eml");
        await using (var file = OwnerOnly.CreateNew(path))
        {
            DsnBuilder.WriteTo(dsn, file);
            file.Flush(flushToDisk: true);
        }
        DirectorySync.Flush(spool.Outbound);
        return new NewDelivery(deliveryId, "", [originalSender], path, 0, "Bounce", null, RequireTls: false, IsDsn: true);
    }

    /// <summary>A DSN telling the sender which recipients a Reject rule refused, and why; null when none was.</summary>
    public Task<NewDelivery?> RejectionNoticeAsync(Pipeline.ProcessedMessage processed, CancellationToken cancellationToken)
    {
        var rejections = processed.Plan.Rejections;
        if (rejections.Count == 0) return Task.FromResult<NewDelivery?>(null);
        var failed = rejections.Select(r => new RecipientOutcome(r.Recipient, RecipientStatus.Failed, 550, "5.7.1 " + r.Message)).ToList();
        return WriteAsync(processed.QueueId, processed.Envelope.Sender, processed.Envelope.ReceivedAt, failed, processed.Message.OpenMessage,
            expired: false, cancellationToken);
    }

    /// <summary>Removes a DSN whose enqueue did not commit; never throws, so the caller's failure is the one reported.</summary>
    public static void Discard(NewDelivery dsn)
    {
        try
        {
            File.Delete(dsn.ContentPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for a person: the file holds headers of the original, in the owner-only spool.
        }
    }
}
