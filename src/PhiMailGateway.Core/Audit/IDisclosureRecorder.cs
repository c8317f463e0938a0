using System.Data;
using PhiMailGateway.Pipeline;

namespace PhiMailGateway.Audit;

/// <summary>
/// Writes the disclosure records of one processed message inside the transaction that enqueues its
/// outbound copies (invariant 2: no message leaves before its record is committed). It takes the
/// stages' outputs: envelope and headers (Message-ID, recipient names), the inspection report (PHI
/// description and DICOM patient identifiers), the routing plan (rule, purpose, certificate
/// fallbacks, rejections) and the copies with their delivery ids.
/// </summary>
public interface IDisclosureRecorder
{
    Task RecordAsync(IDbConnection connection, IDbTransaction transaction, ProcessedMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// Called after the transaction that ran <see cref="RecordAsync"/> ended, outside it: the audit
    /// log notes its new head outside the database (a chain alone cannot show that its newest
    /// records were cut off).
    /// </summary>
    Task CommittedAsync(CancellationToken cancellationToken);
}

/// <summary>What happened after the disclosure: relay replies, deferrals, bounces, pickup activity.</summary>
public interface IAuditTrail
{
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    /// <summary>
    /// Appends events inside the caller's transaction, with the state change they describe (a relay
    /// attempt); call <see cref="CommittedAsync"/> after the commit. An implementation without a
    /// database of its own simply appends them.
    /// </summary>
    async Task AppendAsync(IDbConnection connection, IDbTransaction transaction, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        foreach (var auditEvent in events) await AppendAsync(auditEvent, cancellationToken);
    }

    /// <summary>After a transaction that appended events has committed.</summary>
    Task CommittedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

public static class AuditEventTypes
{
    public const string Relayed = "Relayed";
    public const string Deferred = "Deferred";
    public const string Bounced = "Bounced";
    public const string Rejected = "Rejected";
    public const string CertificateFallback = "CertificateFallback";
    public const string PickupCodeSent = "PickupCodeSent";
    public const string PickupVerified = "PickupVerified";
    public const string PickupViewed = "PickupViewed";
    public const string PickupDownloaded = "PickupDownloaded";
    public const string PickupRevoked = "PickupRevoked";
    public const string PickupExpired = "PickupExpired";
}

/// <param name="Type">One of <see cref="AuditEventTypes"/>.</param>
/// <param name="Detail">Upstream reply, reason, file count...: never message content or patient data.</param>
public sealed record AuditEvent(
    string Type,
    string? QueueId,
    string? DeliveryId,
    string? Recipient,
    string? Detail,
    string? PackageId = null,
    string? ClientAddress = null,
    string? UserAgent = null,
    string? FileSha256 = null);
