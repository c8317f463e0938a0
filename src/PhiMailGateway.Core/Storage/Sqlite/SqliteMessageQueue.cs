using System.Data;
using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// The queue in <c>gateway.db</c>. Each state change is one short BEGIN IMMEDIATE transaction of
/// <see cref="GatewayDatabase"/> (which shares commits between concurrent writers); audit rows that
/// belong to a state change are appended to the chain in the same transaction.
/// </summary>
public sealed class SqliteMessageQueue(GatewayDatabase database, AuditChainSealer sealer, TimeProvider time) : IMessageQueue
{
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task RecordReceivedAsync(SpoolEntry entry, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
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
                RecipientCount = entry.Envelope.Recipients.Count,
                Size = entry.MessageLength,
                SpoolPath = entry.Path,
                ReceivedAt = entry.Envelope.ReceivedAt.ToUnixTimeMilliseconds(),
            }, t), cancellationToken);

    public async Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return await database.ReadAsync(async c => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            "SELECT * FROM messages WHERE state = @State AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit",
            new { State = MessageStates.Received, now, limit })).AsList(), cancellationToken);
    }

    public Task<QueuedMessage?> FindMessageAsync(string queueId, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.QuerySingleOrDefaultAsync<QueuedMessage>("SELECT * FROM messages WHERE queue_id = @queueId", new { queueId }), cancellationToken);

    public Task CommitDisclosureAsync(MessageDisposition disposition, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        GuardRecords guard, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            foreach (var delivery in outbound) await InsertDeliveryAsync(c, t, disposition.QueueId, delivery, Now);
            await SqliteGuardHolds.InsertAsync(c, t, disposition.QueueId, guard, Now);
            await SqliteAuditChain.AppendAsync(sealer, c, t, records);
            await c.ExecuteAsync("UPDATE messages SET state = @State, last_error = @Reason WHERE queue_id = @QueueId", disposition, t);
        }, cancellationToken);

    public Task EnqueueGeneratedAsync(string queueId, NewDelivery delivery, long size, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(
                """
                INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at)
                VALUES (@queueId, @State, @Sender, @RecipientCount, @size, @ContentPath, @Now, 0, @Now)
                """,
                new { queueId, State = MessageStates.Processed, delivery.Sender, RecipientCount = delivery.Recipients.Count, size, delivery.ContentPath, Now }, t);
            await InsertDeliveryAsync(c, t, queueId, delivery, Now);
        }, cancellationToken);

    public Task DeferMessageAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE queue_id = @queueId",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason }, t), cancellationToken);

    public Task DeferMessageAfterFailureAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE queue_id = @queueId AND state = @Received",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, MessageStates.Received }, t), cancellationToken);

    public Task DeferDeliveryAfterFailureAsync(string deliveryId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE delivery_id = @deliveryId AND state = @Pending",
            new { deliveryId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, DeliveryStates.Pending }, t), cancellationToken);

    public Task SetMessageStateAsync(string queueId, string state, string? reason, string? spoolPath, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(
                "UPDATE messages SET state = @state, last_error = @reason, spool_path = COALESCE(@spoolPath, spool_path) WHERE queue_id = @queueId",
                new { queueId, state, reason, spoolPath }, t);
        }, cancellationToken);

    public Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        // Recipients are loaded by the deliverer when it starts on a row (PendingRecipientsAsync):
        // the worker polls often, and most rows it sees are already in flight.
        return database.ReadAsync(async c => (IReadOnlyList<QueuedDelivery>)(await c.QueryAsync<QueuedDelivery>(
            "SELECT * FROM deliveries WHERE state = @State AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit",
            new { State = DeliveryStates.Pending, now, limit })).AsList(), cancellationToken);
    }

    public Task<AttemptRecorded> RecordAttemptAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlyCollection<string> giveUp,
        DateTimeOffset nextAttempt, string? lastError, IReadOnlyList<NewDelivery> newDeliveries, IReadOnlyList<AuditRow> auditEvents, GuardRecords holds,
        CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
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
                    new { status, outcome.Code, outcome.Response, now, delivery.DeliveryId, outcome.Recipient }, t);
            }
            foreach (var added in newDeliveries) await InsertDeliveryAsync(c, t, delivery.QueueId, added, Now);
            await SqliteGuardHolds.InsertAsync(c, t, delivery.QueueId, holds, now);
            await SqliteAuditChain.AppendAsync(sealer, c, t, auditEvents);
            var pending = await c.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM delivery_recipients WHERE delivery_id = @DeliveryId AND status = @Pending",
                new { delivery.DeliveryId, RecipientStates.Pending }, t);
            var done = pending == 0;
            await c.ExecuteAsync(
                "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, state = @state, last_error = @lastError WHERE delivery_id = @DeliveryId",
                new { next = nextAttempt.ToUnixTimeMilliseconds(), state = done ? DeliveryStates.Done : DeliveryStates.Pending, lastError, delivery.DeliveryId }, t);
            if (!done) return new AttemptRecorded(false, []);
            return new AttemptRecorded(true, await FinishIfSettledAsync(c, t, delivery.QueueId));
        }, cancellationToken);

    /// <summary>Marks a processed or rejected message Done once none of its deliveries is pending; returns the files it leaves behind (spool file, generated copies), or empty.</summary>
    internal static async Task<IReadOnlyList<string>> FinishIfSettledAsync(IDbConnection c, IDbTransaction t, string queueId)
    {
        // One statement: Done only when no delivery of the message is pending any more, and no copy
        // the guard holds may still be released (the release reads the spool file again).
        var changed = await c.ExecuteAsync(
            """
            UPDATE messages SET state = @Done WHERE queue_id = @queueId AND state IN (@Processed, @Rejected)
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE queue_id = @queueId AND state = @Pending)
            AND NOT EXISTS (SELECT 1 FROM guard_holds WHERE queue_id = @queueId AND state IN @OpenHolds)
            """,
            new { queueId, MessageStates.Done, MessageStates.Processed, MessageStates.Rejected, DeliveryStates.Pending, OpenHolds = GuardHoldStates.Open }, t);
        if (changed == 0) return [];
        return (await c.QueryAsync<string>(
            "SELECT spool_path FROM messages WHERE queue_id = @queueId UNION SELECT content_path FROM deliveries WHERE queue_id = @queueId",
            new { queueId }, t)).AsList();
    }

    public Task<bool> TryFinishMessageAsync(string queueId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => (await FinishIfSettledAsync(c, t, queueId)).Count > 0, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> MessagesInStateAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            "SELECT * FROM messages WHERE state IN @states ORDER BY received_at", new { states })).AsList(), cancellationToken);

    public Task<IReadOnlyList<QueuedDelivery>> PendingDeliveriesAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<QueuedDelivery>("SELECT * FROM deliveries WHERE state = @Pending ORDER BY created_at", new { DeliveryStates.Pending })).AsList();
            foreach (var row in rows) row.PendingRecipients = await PendingRecipientsAsync(c, row.DeliveryId);
            return (IReadOnlyList<QueuedDelivery>)rows;
        }, cancellationToken);

    public Task<bool> RetryNowAsync(string id, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            var now = Now;
            var messages = await c.ExecuteAsync(
                "UPDATE messages SET next_attempt_at = @now WHERE queue_id = @id AND state = @Received",
                new { id, now, MessageStates.Received }, t);
            var deliveries = await c.ExecuteAsync(
                "UPDATE deliveries SET next_attempt_at = @now WHERE (delivery_id = @id OR queue_id = @id) AND state = @Pending",
                new { id, now, DeliveryStates.Pending }, t);
            return messages + deliveries > 0;
        }, cancellationToken);

    public Task<bool> ReleaseHeldAsync(string queueId, string spoolPath, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => await c.ExecuteAsync(
            "UPDATE messages SET state = @Received, spool_path = @spoolPath, next_attempt_at = @Now, attempts = 0 WHERE queue_id = @queueId AND state = @Held",
            new { queueId, spoolPath, Now, MessageStates.Received, MessageStates.Held }, t) > 0, cancellationToken);

    internal static async Task InsertDeliveryAsync(IDbConnection c, IDbTransaction t, string queueId, NewDelivery d, long now)
    {
        await c.ExecuteAsync(
            """
            INSERT INTO deliveries (delivery_id, queue_id, sender, content_path, content_offset, action, rule_name, require_tls, is_dsn, created_at, attempts, next_attempt_at, state)
            VALUES (@DeliveryId, @queueId, @Sender, @ContentPath, @ContentOffset, @Action, @RuleName, @RequireTls, @IsDsn, @now, 0, @due, @Pending)
            """,
            new { d.DeliveryId, queueId, d.Sender, d.ContentPath, d.ContentOffset, d.Action, d.RuleName, d.RequireTls, d.IsDsn, now,
                due = Math.Max(now, d.NotBefore?.ToUnixTimeMilliseconds() ?? now), DeliveryStates.Pending }, t);
        foreach (var recipient in d.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            await c.ExecuteAsync(
                "INSERT INTO delivery_recipients (delivery_id, recipient, status, updated_at) VALUES (@DeliveryId, @recipient, @Pending, @now)",
                new { d.DeliveryId, recipient, RecipientStates.Pending, now }, t);
        }
    }

    public Task<IReadOnlyList<string>> PendingRecipientsAsync(string deliveryId, CancellationToken cancellationToken) =>
        database.ReadAsync(c => PendingRecipientsAsync(c, deliveryId), cancellationToken);

    private static async Task<IReadOnlyList<string>> PendingRecipientsAsync(IDbConnection c, string deliveryId) =>
        (await c.QueryAsync<string>(
            "SELECT recipient FROM delivery_recipients WHERE delivery_id = @deliveryId AND status = @Pending ORDER BY recipient",
            new { deliveryId, RecipientStates.Pending })).AsList();

    public Task<QueueCounts> CountAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var byState = (await c.QueryAsync<(string State, long Count)>(
                "SELECT state, COUNT(*) FROM messages WHERE state IN @states GROUP BY state", new { states }))
                .ToDictionary(r => r.State, r => r.Count, StringComparer.Ordinal);
            var oldest = await c.ExecuteScalarAsync<long?>("SELECT MIN(received_at) FROM messages WHERE state IN @states", new { states });
            var pending = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE state = @pending", new { pending = DeliveryStates.Pending });
            return new QueueCounts(byState, pending, oldest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
        }, cancellationToken);
}
