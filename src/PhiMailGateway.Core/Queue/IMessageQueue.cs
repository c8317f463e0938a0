using PhiMailGateway.Guard;
using PhiMailGateway.Audit;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Queue;

/// <summary>
/// The queue: which accepted messages still need processing, which outbound copies still need
/// relaying and to whom. Every method either commits all of its change or none of it; storage
/// failures come out as <see cref="Storage.StorageException"/> (<see cref="Storage.StorageUnavailableException"/>
/// when nothing can be written). The spool files stay the truth for what was accepted;
/// <see cref="SpoolRecovery"/> rebuilds missing rows from them.
/// </summary>
public interface IMessageQueue
{
    /// <summary>An accepted message's row; a row that already exists is left as it is (recovery may record it twice).</summary>
    Task RecordReceivedAsync(SpoolEntry entry, CancellationToken cancellationToken);

    /// <summary>
    /// Received messages whose next attempt is due, earliest first. A queue that several instances
    /// share claims them for this instance with a lease (Storage:LeaseTime): the same rows come back
    /// to this instance on its next call, and to another only once the lease ran out or was given
    /// up by a deferral or a state change. <see cref="DueDeliveriesAsync"/> does the same.
    /// </summary>
    Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken);

    Task<QueuedMessage?> FindMessageAsync(string queueId, CancellationToken cancellationToken);

    /// <summary>
    /// The outbox: the pipeline decided, so the message takes its new state (Processed, or Rejected
    /// with its reason), its outbound copies are enqueued and its disclosure records are appended to
    /// the audit chain, all in one transaction, with the copies the guard holds. No copy can leave
    /// without its record (invariant 2), no held copy is lost, and a failure leaves none of them.
    /// </summary>
    Task CommitDisclosureAsync(MessageDisposition disposition, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        Guard.GuardRecords guard, CancellationToken cancellationToken);

    /// <summary>
    /// Mail the gateway writes itself, not for a message it received (the audit head note): a
    /// message row that is already Processed, with its one delivery, in one transaction. The row
    /// exists because every delivery belongs to a message; once the delivery settles, the usual
    /// clean-up marks it Done and removes <see cref="NewDelivery.ContentPath"/>.
    /// </summary>
    Task EnqueueGeneratedAsync(string queueId, NewDelivery delivery, long size, CancellationToken cancellationToken);

    /// <summary>A stage asked to try again later: one more attempt counted, not due before <paramref name="nextAttempt"/>.</summary>
    Task DeferMessageAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Processing a message threw (a failed commit, an audit write, a file it could not write):
    /// it is not due again before <paramref name="nextAttempt"/>. Only while it still waits for
    /// processing: a failure after its copies were committed changes nothing.
    /// </summary>
    Task DeferMessageAfterFailureAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// A relay attempt threw, possibly after the upstream's 250 (its bookkeeping did not commit):
    /// the delivery is not due again before <paramref name="nextAttempt"/>.
    /// </summary>
    Task DeferDeliveryAfterFailureAsync(string deliveryId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken);

    /// <summary>A state without disclosure (Held, Corrupt); <paramref name="spoolPath"/>, when given, is where its file now is.</summary>
    Task SetMessageStateAsync(string queueId, string state, string? reason, string? spoolPath, CancellationToken cancellationToken);

    /// <summary>Pending deliveries whose next attempt is due, earliest first; their recipients are not loaded (<see cref="PendingRecipientsAsync"/>).</summary>
    Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Records one relay attempt in one transaction: each outcome updates its recipient (a fallback
    /// one is settled: its fallback copy replaces it); the delivery is Done when no recipient is
    /// pending, else it waits until <paramref name="nextAttempt"/>; <paramref name="newDeliveries"/>
    /// (a DSN for failed recipients, the fallback copies) are enqueued, and <paramref name="auditEvents"/>
    /// (with the fallback copies' disclosure records) are appended to the audit chain with them, and
    /// <paramref name="holds"/> (fallback copies a rule holds) are kept with them, so a crash can
    /// neither lose nor double any of them. When this settles the last
    /// delivery of the message, the message is marked Done here too and the files it no longer
    /// needs are returned for deletion.
    /// </summary>
    Task<AttemptRecorded> RecordAttemptAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlyCollection<string> giveUp,
        DateTimeOffset nextAttempt, string? lastError, IReadOnlyList<NewDelivery> newDeliveries, IReadOnlyList<AuditRow> auditEvents, GuardRecords holds,
        CancellationToken cancellationToken);

    /// <summary>Marks a processed or rejected message Done once none of its deliveries is pending and none of its copies is held; returns true when it did.</summary>
    Task<bool> TryFinishMessageAsync(string queueId, CancellationToken cancellationToken);

    /// <summary>Messages in any of <paramref name="states"/>, oldest first.</summary>
    Task<IReadOnlyList<QueuedMessage>> MessagesInStateAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken);

    /// <summary>Every pending delivery, oldest first, with its pending recipients.</summary>
    Task<IReadOnlyList<QueuedDelivery>> PendingDeliveriesAsync(CancellationToken cancellationToken);

    /// <summary>`queue retry ID`: makes a waiting message or delivery due now. Returns false when the id is unknown or not waiting.</summary>
    Task<bool> RetryNowAsync(string id, CancellationToken cancellationToken);

    /// <summary>A held message goes back to processing (after its file was moved back to incoming).</summary>
    Task<bool> ReleaseHeldAsync(string queueId, string spoolPath, CancellationToken cancellationToken);

    /// <summary>Recipients of a delivery not yet delivered or failed, in order.</summary>
    Task<IReadOnlyList<string>> PendingRecipientsAsync(string deliveryId, CancellationToken cancellationToken);

    /// <summary>For the metrics: messages per state among <paramref name="states"/>, pending copies, and when the oldest such message arrived.</summary>
    Task<QueueCounts> CountAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken);
}

/// <summary>How much is in the queue: messages per state (states without any are absent), pending copies, the oldest message's arrival.</summary>
public sealed record QueueCounts(IReadOnlyDictionary<string, long> MessagesByState, long PendingDeliveries, DateTimeOffset? OldestReceivedAt);

/// <summary>The state a processed message takes with its disclosure: <see cref="MessageStates.Processed"/>, or <see cref="MessageStates.Rejected"/> with the reason.</summary>
public sealed record MessageDisposition(string QueueId, string State, string? Reason);
