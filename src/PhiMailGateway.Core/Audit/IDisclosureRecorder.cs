using PhiMailGateway.Pipeline;

namespace PhiMailGateway.Audit;

/// <summary>
/// Builds the disclosure records of one processed message, which the queue commits in the
/// transaction that enqueues its outbound copies (<see cref="IMessageQueue.CommitDisclosureAsync"/>;
/// invariant 2: no message leaves before its record is committed). It takes the
/// stages' outputs: envelope and headers (Message-ID, recipient names), the inspection report (PHI
/// description and DICOM patient identifiers), the routing plan (rule, purpose, certificate
/// fallbacks, rejections) and the copies with their delivery ids.
/// </summary>
public interface IDisclosureRecorder
{
    IReadOnlyList<AuditRow> RecordsFor(ProcessedMessage message);

    /// <summary>
    /// Called after the transaction that committed the records ended, outside it: the audit log
    /// notes its new head outside the database (a chain alone cannot show that its newest records
    /// were cut off).
    /// </summary>
    Task CommittedAsync(CancellationToken cancellationToken);
}

/// <summary>What happened after the disclosure: relay replies, deferrals, bounces, pickup activity.</summary>
public interface IAuditTrail
{
    Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken);

    /// <summary>
    /// The chain rows of events that commit with the state change they describe (a relay attempt,
    /// through <see cref="IMessageQueue.RecordAttemptAsync"/>); call <see cref="CommittedAsync"/>
    /// after the commit.
    /// </summary>
    Task<IReadOnlyList<AuditRow>> RowsForAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken);

    /// <summary>After a transaction that appended events has committed.</summary>
    Task CommittedAsync(CancellationToken cancellationToken);
}

public static class AuditEventTypes
{
    public const string Relayed = "Relayed";
    public const string Deferred = "Deferred";
    public const string Bounced = "Bounced";

    /// <summary>Direct delivery could not take a TLS-first copy (no verified TLS); its fallback copy replaced it and has its own disclosure record.</summary>
    public const string FellBack = "FellBack";
    public const string Rejected = "Rejected";
    public const string CertificateFallback = "CertificateFallback";
    public const string PickupCodeSent = "PickupCodeSent";
    public const string PickupVerified = "PickupVerified";
    public const string PickupViewed = "PickupViewed";
    public const string PickupDownloaded = "PickupDownloaded";
    public const string PickupRevoked = "PickupRevoked";
    public const string PickupExpired = "PickupExpired";

    // The misdirection guard's decisions, per recipient; the detail names the checks and who decided.
    public const string GuardHeld = "GuardHeld";
    public const string GuardFlagged = "GuardFlagged";
    public const string GuardConfirmed = "GuardConfirmed";
    public const string GuardCancelled = "GuardCancelled";
    public const string GuardExpired = "GuardExpired";

    /// <summary>The sender stopped a copy during Guard:SendDelay: it never left.</summary>
    public const string Recalled = "Recalled";
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
