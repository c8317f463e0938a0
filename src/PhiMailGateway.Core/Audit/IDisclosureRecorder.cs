using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Audit;

/// <summary>
/// Builds the disclosure records of one processed message, which the queue commits in the
/// transaction that enqueues its outbound copies (<see cref="IMessageQueue.CommitDisclosureAsync"/>;
/// invariant 2: no message leaves before its record is committed). The context carries everything
/// the record needs: envelope, inspection report (PHI description and DICOM patient identifiers),
/// routing decisions (rule, purpose, certificate fallbacks) and the copies.
/// </summary>
public interface IDisclosureRecorder
{
    IReadOnlyList<AuditRow> RecordsFor(MessageContext context, IReadOnlyList<NewDelivery> deliveries);

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
    /// after the commit. An implementation without a chain of its own records them here and
    /// returns none.
    /// </summary>
    async Task<IReadOnlyList<AuditRow>> RowsForAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        foreach (var auditEvent in events) await AppendAsync(auditEvent, cancellationToken);
        return [];
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

/// <summary>Until the audit log exists: records nothing.</summary>
public sealed class NoAudit : IDisclosureRecorder, IAuditTrail
{
    public IReadOnlyList<AuditRow> RecordsFor(MessageContext context, IReadOnlyList<NewDelivery> deliveries) => [];

    public Task CommittedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<AuditRow>> RowsForAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<AuditRow>>([]);
}
