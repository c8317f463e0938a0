using Dapper;
using Npgsql;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// The queue shared by every instance on one PostgreSQL database. Work is shared by leases: the
/// due-work reads claim what they return (<c>FOR UPDATE SKIP LOCKED</c>, so two instances polling
/// at once take different rows and neither waits), stamping the row with this instance's
/// <c>Gateway:NodeName</c> and an expiry <c>Storage:LeaseTime</c> ahead. Rows another instance holds
/// a live lease on are not returned; once that lease runs out (the instance died, or was cut off)
/// any instance takes the row over. An instance sees its own leased rows again, renewing their
/// lease, as the queue worker expects of every store (it skips what it already has in flight).
/// Deferring or settling a row gives up this instance's lease on it.
/// Leases are compared with each instance's own clock, as next_attempt_at already is: instances
/// are expected to keep time (NTP) well within the lease time.
/// Lock order, so that no two transactions wait for each other: the audit chain's advisory lock
/// first (when the transaction appends to the chain), then the message row, then its deliveries.
/// </summary>
public sealed class PostgreSqlMessageQueue(PostgreSqlGatewayStorage storage, AuditChainSealer sealer, TimeProvider time,
    GatewayOptions gateway, StorageOptions options) : IMessageQueue
{
    private readonly string _node = gateway.NodeName;
    private readonly long _leaseMs = (long)options.LeaseTime.TotalMilliseconds;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>SET clauses that give up this instance's lease and leave another instance's alone.</summary>
    private const string ReleaseLease =
        "lease_owner = CASE WHEN lease_owner = @Node THEN NULL ELSE lease_owner END, lease_until = CASE WHEN lease_owner = @Node THEN 0 ELSE lease_until END";

    public Task RecordReceivedAsync(SpoolEntry entry, CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => c.ExecuteAsync(
            """
            INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at)
            VALUES (@QueueId, @State, @Sender, @RecipientCount, @Size, @SpoolPath, @ReceivedAt, 0, @ReceivedAt)
            ON CONFLICT (queue_id) DO NOTHING
            """,
            new
            {
                entry.QueueId,
                State = MessageStates.Received,
                entry.Envelope.Sender,
                RecipientCount = (long)entry.Envelope.Recipients.Count,
                Size = entry.MessageLength,
                SpoolPath = entry.Path,
                ReceivedAt = entry.Envelope.ReceivedAt.ToUnixTimeMilliseconds(),
            }, t), cancellationToken);

    /// <summary>Claims the due messages for this instance (see the class summary), earliest first.</summary>
    public Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return storage.WriteAsync(async (c, t) => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            """
            WITH due AS (
                SELECT queue_id FROM messages
                WHERE state = @State AND next_attempt_at <= @now AND (lease_until <= @now OR lease_owner = @Node)
                ORDER BY next_attempt_at LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE messages m SET lease_owner = @Node, lease_until = @until
            FROM due WHERE m.queue_id = due.queue_id
            RETURNING m.*
            """,
            new { State = MessageStates.Received, now, limit, Node = _node, until = now + _leaseMs }, t))
            .OrderBy(m => m.NextAttemptAt).ThenBy(m => m.QueueId, StringComparer.Ordinal).ToList(), cancellationToken);
    }

    public Task<QueuedMessage?> FindMessageAsync(string queueId, CancellationToken cancellationToken) =>
        storage.ReadAsync(c => c.QuerySingleOrDefaultAsync<QueuedMessage>("SELECT * FROM messages WHERE queue_id = @queueId", new { queueId }), cancellationToken);

    public Task CommitDisclosureAsync(MessageDisposition disposition, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        GuardRecords guard, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) =>
        {
            if (records.Count > 0) await PostgreSqlAuditChain.LockAsync(c, t);
            foreach (var delivery in outbound) await InsertDeliveryAsync(c, t, disposition.QueueId, delivery);
            await PostgreSqlGuardHolds.InsertAsync(c, t, disposition.QueueId, guard, Now);
            await PostgreSqlAuditChain.AppendAsync(sealer, c, t, records);
            await c.ExecuteAsync($"UPDATE messages SET state = @State, last_error = @Reason, {ReleaseLease} WHERE queue_id = @QueueId",
                new { disposition.State, disposition.Reason, disposition.QueueId, Node = _node }, t);
        }, cancellationToken);

    public Task EnqueueGeneratedAsync(string queueId, NewDelivery delivery, long size, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(
                """
                INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at)
                VALUES (@queueId, @State, @Sender, @RecipientCount, @size, @ContentPath, @Now, 0, @Now)
                """,
                new { queueId, State = MessageStates.Processed, delivery.Sender, RecipientCount = (long)delivery.Recipients.Count, size, delivery.ContentPath, Now }, t);
            await InsertDeliveryAsync(c, t, queueId, delivery);
        }, cancellationToken);

    public Task DeferMessageAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => c.ExecuteAsync(
            $"UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason, {ReleaseLease} WHERE queue_id = @queueId",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, Node = _node }, t), cancellationToken);

    public Task DeferMessageAfterFailureAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => c.ExecuteAsync(
            $"UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason, {ReleaseLease} WHERE queue_id = @queueId AND state = @Received",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, MessageStates.Received, Node = _node }, t), cancellationToken);

    public Task DeferDeliveryAfterFailureAsync(string deliveryId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => c.ExecuteAsync(
            $"UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason, {ReleaseLease} WHERE delivery_id = @deliveryId AND state = @Pending",
            new { deliveryId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, DeliveryStates.Pending, Node = _node }, t), cancellationToken);

    public Task SetMessageStateAsync(string queueId, string state, string? reason, string? spoolPath, CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => c.ExecuteAsync(
            $"UPDATE messages SET state = @state, last_error = @reason, spool_path = COALESCE(@spoolPath, spool_path), {ReleaseLease} WHERE queue_id = @queueId",
            new { queueId, state, reason, spoolPath, Node = _node }, t), cancellationToken);

    /// <summary>Claims the due deliveries for this instance (see the class summary), earliest first; recipients are not loaded.</summary>
    public Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return storage.WriteAsync(async (c, t) => (IReadOnlyList<QueuedDelivery>)(await c.QueryAsync<QueuedDelivery>(
            """
            WITH due AS (
                SELECT delivery_id FROM deliveries
                WHERE state = @State AND next_attempt_at <= @now AND (lease_until <= @now OR lease_owner = @Node)
                ORDER BY next_attempt_at LIMIT @limit
                FOR UPDATE SKIP LOCKED)
            UPDATE deliveries d SET lease_owner = @Node, lease_until = @until
            FROM due WHERE d.delivery_id = due.delivery_id
            RETURNING d.*
            """,
            new { State = DeliveryStates.Pending, now, limit, Node = _node, until = now + _leaseMs }, t))
            .OrderBy(d => d.NextAttemptAt).ThenBy(d => d.DeliveryId, StringComparer.Ordinal).ToList(), cancellationToken);
    }

    public Task<AttemptRecorded> RecordAttemptAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlyCollection<string> giveUp,
        DateTimeOffset nextAttempt, string? lastError, IReadOnlyList<NewDelivery> newDeliveries, IReadOnlyList<AuditRow> auditEvents, GuardRecords holds,
        CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) =>
        {
            if (auditEvents.Count > 0) await PostgreSqlAuditChain.LockAsync(c, t);
            // The message row first: two instances settling the last two deliveries of one message
            // at once would each still see the other's as pending, and neither would mark it Done.
            await LockMessageAsync(c, t, delivery.QueueId);
            var now = Now;
            foreach (var outcome in outcomes)
            {
                var status = outcome.Status switch
                {
                    RecipientStatus.Delivered => RecipientStates.Delivered,
                    RecipientStatus.Failed => RecipientStates.Failed,
                    RecipientStatus.Fallback => RecipientStates.FellBack,
                    _ when giveUp.Contains(outcome.Recipient) => RecipientStates.Failed,
                    _ => RecipientStates.Pending,
                };
                await c.ExecuteAsync(
                    "UPDATE delivery_recipients SET status = @status, code = @Code, response = @Response, updated_at = @now WHERE delivery_id = @DeliveryId AND recipient = @Recipient",
                    new { status, Code = (long?)outcome.Code, outcome.Response, now, delivery.DeliveryId, outcome.Recipient }, t);
            }
            foreach (var added in newDeliveries) await InsertDeliveryAsync(c, t, delivery.QueueId, added);
            await PostgreSqlGuardHolds.InsertAsync(c, t, delivery.QueueId, holds, now);
            await PostgreSqlAuditChain.AppendAsync(sealer, c, t, auditEvents);
            var pending = await c.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM delivery_recipients WHERE delivery_id = @DeliveryId AND status = @Pending",
                new { delivery.DeliveryId, RecipientStates.Pending }, t);
            var done = pending == 0;
            await c.ExecuteAsync(
                $"UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, state = @state, last_error = @lastError, {ReleaseLease} WHERE delivery_id = @DeliveryId",
                new { next = nextAttempt.ToUnixTimeMilliseconds(), state = done ? DeliveryStates.Done : DeliveryStates.Pending, lastError, delivery.DeliveryId, Node = _node }, t);
            if (!done) return new AttemptRecorded(false, []);
            return new AttemptRecorded(true, await FinishIfSettledAsync(c, t, delivery.QueueId));
        }, cancellationToken);

    private static Task LockMessageAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction t, string queueId) =>
        c.ExecuteAsync("SELECT 1 FROM messages WHERE queue_id = @queueId FOR UPDATE", new { queueId }, t);

    /// <summary>Marks a processed or rejected message Done once none of its deliveries is pending; returns the files it leaves behind, or empty.</summary>
    private static async Task<IReadOnlyList<string>> FinishIfSettledAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction t, string queueId)
    {
        // Locked before the check, as a statement of its own: the check that follows then reads
        // what every transaction that held the row before has committed.
        await LockMessageAsync(c, t, queueId);
        var changed = await c.ExecuteAsync(
            """
            UPDATE messages SET state = @Done WHERE queue_id = @queueId AND state IN (@Processed, @Rejected)
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE queue_id = @queueId AND state = @Pending)
            AND NOT EXISTS (SELECT 1 FROM guard_holds WHERE queue_id = @queueId AND state = ANY(@OpenHolds))
            """,
            new { queueId, MessageStates.Done, MessageStates.Processed, MessageStates.Rejected, DeliveryStates.Pending, OpenHolds = GuardHoldStates.Open.ToArray() }, t);
        if (changed == 0) return [];
        return (await c.QueryAsync<string>(
            "SELECT spool_path FROM messages WHERE queue_id = @queueId UNION SELECT content_path FROM deliveries WHERE queue_id = @queueId",
            new { queueId }, t)).AsList();
    }

    public Task<bool> TryFinishMessageAsync(string queueId, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) => (await FinishIfSettledAsync(c, t, queueId)).Count > 0, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> MessagesInStateAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        storage.ReadAsync(async c => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            "SELECT * FROM messages WHERE state = ANY(@states) ORDER BY received_at, queue_id", new { states = states.ToArray() })).AsList(), cancellationToken);

    public Task<IReadOnlyList<QueuedDelivery>> PendingDeliveriesAsync(CancellationToken cancellationToken) =>
        storage.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<QueuedDelivery>("SELECT * FROM deliveries WHERE state = @Pending ORDER BY created_at, delivery_id", new { DeliveryStates.Pending })).AsList();
            foreach (var row in rows) row.PendingRecipients = await PendingRecipientsAsync(c, row.DeliveryId);
            return (IReadOnlyList<QueuedDelivery>)rows;
        }, cancellationToken);

    public Task<bool> RetryNowAsync(string id, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) =>
        {
            var now = Now;
            // Leases stay: an instance working on the item now keeps it; the item is due at once
            // for whoever holds it, or for anyone once the lease is gone.
            var messages = await c.ExecuteAsync(
                "UPDATE messages SET next_attempt_at = @now WHERE queue_id = @id AND state = @Received",
                new { id, now, MessageStates.Received }, t);
            var deliveries = await c.ExecuteAsync(
                "UPDATE deliveries SET next_attempt_at = @now WHERE (delivery_id = @id OR queue_id = @id) AND state = @Pending",
                new { id, now, DeliveryStates.Pending }, t);
            return messages + deliveries > 0;
        }, cancellationToken);

    public Task<bool> ReleaseHeldAsync(string queueId, string spoolPath, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) => await c.ExecuteAsync(
            $"UPDATE messages SET state = @Received, spool_path = @spoolPath, next_attempt_at = @Now, attempts = 0, {ReleaseLease} WHERE queue_id = @queueId AND state = @Held",
            new { queueId, spoolPath, Now, MessageStates.Received, MessageStates.Held, Node = _node }, t) > 0, cancellationToken);

    private static async Task InsertDeliveryAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction t, string queueId, NewDelivery d)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await c.ExecuteAsync(
            """
            INSERT INTO deliveries (delivery_id, queue_id, sender, content_path, content_offset, action, rule_name, require_tls, is_dsn, created_at, attempts, next_attempt_at, state)
            VALUES (@DeliveryId, @queueId, @Sender, @ContentPath, @ContentOffset, @Action, @RuleName, @RequireTls, @IsDsn, @now, 0, @due, @Pending)
            """,
            new { d.DeliveryId, queueId, d.Sender, d.ContentPath, d.ContentOffset, d.Action, d.RuleName, d.RequireTls, d.IsDsn, now,
                due = Math.Max(now, d.NotBefore?.ToUnixTimeMilliseconds() ?? now), DeliveryStates.Pending }, t);
        var recipients = d.Recipients.Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        await c.ExecuteAsync(
            "INSERT INTO delivery_recipients (delivery_id, recipient, status, updated_at) SELECT @DeliveryId, unnest(@recipients), @Pending, @now",
            new { d.DeliveryId, recipients, RecipientStates.Pending, now }, t);
    }

    public Task<IReadOnlyList<string>> PendingRecipientsAsync(string deliveryId, CancellationToken cancellationToken) =>
        storage.ReadAsync(c => PendingRecipientsAsync(c, deliveryId), cancellationToken);

    private static async Task<IReadOnlyList<string>> PendingRecipientsAsync(System.Data.Common.DbConnection c, string deliveryId) =>
        (await c.QueryAsync<string>(
            "SELECT recipient FROM delivery_recipients WHERE delivery_id = @deliveryId AND status = @Pending ORDER BY recipient",
            new { deliveryId, RecipientStates.Pending })).AsList();

    public Task<QueueCounts> CountAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        storage.ReadAsync(async c =>
        {
            var stateArray = states.ToArray();
            var byState = (await c.QueryAsync<(string State, long Count)>(
                "SELECT state, COUNT(*) FROM messages WHERE state = ANY(@stateArray) GROUP BY state", new { stateArray }))
                .ToDictionary(r => r.State, r => r.Count, StringComparer.Ordinal);
            var oldest = await c.ExecuteScalarAsync<long?>("SELECT MIN(received_at) FROM messages WHERE state = ANY(@stateArray)", new { stateArray });
            var pending = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE state = @pending", new { pending = DeliveryStates.Pending });
            return new QueueCounts(byState, pending, oldest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
        }, cancellationToken);
}
