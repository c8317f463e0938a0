using Microsoft.Extensions.Logging;
using PhiMailGateway.Certificates;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// Answers the rules' <c>RecipientHasCertificate</c> from the certificate store: only a usable
/// certificate counts. When the recipient has certificates but none is usable, the reason goes into
/// the routing decision (and from there into the audit), and the recipient falls through to the next rule.
/// </summary>
public sealed partial class StoredRecipientCertificates(
    ICertificateStore store,
    TrustAnchorSet anchors,
    TimeProvider time,
    ILogger<StoredRecipientCertificates> logger) : IRecipientCertificates
{
    public async Task<CertificateAvailability> CheckAsync(string address, CancellationToken cancellationToken)
    {
        var snapshot = await store.LoadForAsync(address, cancellationToken);
        if (snapshot.Recipients.Count == 0) return CertificateAvailability.None;
        using var context = new GatewaySecureMimeContext(snapshot, anchors, time.GetUtcNow());
        var verdict = context.Choose(address);
        if (verdict.Certificate is null)
        {
            LogUnusable(logger, verdict.Reason ?? "unknown");
            LogUnusableFor(logger, address, verdict.Reason ?? "unknown");
        }
        return new CertificateAvailability(verdict.Certificate is not null, verdict.Reason);
    }

    [LoggerMessage(EventId = 8001, Level = LogLevel.Information, Message = "Recipient certificate unusable ({Reason}); the next rule applies")]
    private static partial void LogUnusable(ILogger logger, string reason);

    [LoggerMessage(EventId = 8002, Level = LogLevel.Debug, Message = "Recipient certificate for {Recipient} unusable: {Reason}")]
    private static partial void LogUnusableFor(ILogger logger, string recipient, string reason);
}
