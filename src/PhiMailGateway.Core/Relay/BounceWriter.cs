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
