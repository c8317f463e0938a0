using System.Data;
using Dapper;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Queue;

/// <summary>
/// The queue's rows: which accepted messages still need processing, which outbound copies still
/// need relaying and to whom. Each state change is one short BEGIN IMMEDIATE transaction.
/// The spool files stay the truth for what was accepted; <see cref="SpoolRecovery"/> rebuilds
/// missing rows from them.
/// </summary>
public sealed class MessageQueue(GatewayDatabase database, TimeProvider time)
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
        await using var c = await database.OpenAsync(cancellationToken);
        var rows = await c.QueryAsync<QueuedMessage>(
            "SELECT * FROM messages WHERE state = @State AND next_attempt_at <= @Now ORDER BY next_attempt_at LIMIT @limit",
            new { State = MessageStates.Received, Now, limit });
        return rows.AsList();
    }

    public async Task<QueuedMessage?> FindMessageAsync(string queueId, CancellationToken cancellationToken)
    {
        await using var c = await database.OpenAsync(cancellationToken);
        return await c.QuerySingleOrDefaultAsync<QueuedMessage>("SELECT * FROM messages WHERE queue_id = @queueId", new { queueId });
    }

    /// <summary>
    /// The pipeline decided: enqueue the outbound copies and mark the message processed in one
    /// transaction. <paramref name="alsoInTransaction"/> is where the disclosure record joins it,
    /// so no copy can leave without its record (invariant 2).
    /// </summary>
    public Task CompleteProcessingAsync(string queueId, IReadOnlyList<NewDelivery> deliveries,
        Func<IDbConnection, IDbTransaction, Task>? alsoInTransaction, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            foreach (var delivery in deliveries) await InsertDeliveryAsync(c, t, queueId, delivery);
            if (alsoInTransaction is not null) await alsoInTransaction(c, t);
            await c.ExecuteAsync("UPDATE messages SET state = @State, last_error = NULL WHERE queue_id = @queueId",
                new { State = MessageStates.Processed, queueId }, t);
        }, cancellationToken);

    /// <summary>
    /// Mail the gateway writes itself, not for a message it received (the audit head note): a
    /// message row that is already Processed, with its one delivery, in one transaction. The row
    /// exists because every delivery belongs to a message; once the delivery settles, the usual
    /// clean-up marks it Done and removes <see cref="NewDelivery.ContentPath"/>.
    /// </summary>
    public Task EnqueueGeneratedAsync(string queueId, NewDelivery delivery, long size, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(
                """
                INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at)
                VALUES (@queueId, @State, @Sender, @RecipientCount, @size, @ContentPath, @Now, 0, @Now)
                """,
                new { queueId, State = MessageStates.Processed, delivery.Sender, RecipientCount = delivery.Recipients.Count, size, delivery.ContentPath, Now }, t);
            await InsertDeliveryAsync(c, t, queueId, delivery);
        }, cancellationToken);

    public Task DeferMessageAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE queue_id = @queueId",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason }, t), cancellationToken);

    /// <summary>
    /// Processing a message threw (a failed commit, an audit write, a file it could not write):
    /// it is not due again before <paramref name="nextAttempt"/>. Only while it still waits for
    /// processing: a failure after its copies were committed changes nothing.
    /// </summary>
    public Task DeferMessageAfterFailureAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE queue_id = @queueId AND state = @Received",
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, MessageStates.Received }, t), cancellationToken);

    /// <summary>
    /// A relay attempt threw, possibly after the upstream's 250 (its bookkeeping did not commit):
    /// the delivery is not due again before <paramref name="nextAttempt"/>.
    /// </summary>
    public Task DeferDeliveryAfterFailureAsync(string deliveryId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE delivery_id = @deliveryId AND state = @Pending",
            new { deliveryId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, DeliveryStates.Pending }, t), cancellationToken);

    /// <summary>Final states for a message that will not be relayed as is (Held, Rejected), or Done.</summary>
    public Task SetMessageStateAsync(string queueId, string state, string? reason, string? spoolPath, IReadOnlyList<NewDelivery>? deliveries,
        CancellationToken cancellationToken, Func<IDbConnection, IDbTransaction, Task>? alsoInTransaction = null) =>
        database.WriteAsync(async (c, t) =>
        {
            foreach (var delivery in deliveries ?? []) await InsertDeliveryAsync(c, t, queueId, delivery);
            if (alsoInTransaction is not null) await alsoInTransaction(c, t);
            await c.ExecuteAsync(
                "UPDATE messages SET state = @state, last_error = @reason, spool_path = COALESCE(@spoolPath, spool_path) WHERE queue_id = @queueId",
                new { queueId, state, reason, spoolPath }, t);
        }, cancellationToken);

    public async Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken)
    {
        await using var c = await database.OpenAsync(cancellationToken);
        // Recipients are loaded by the deliverer when it starts on a row (PendingRecipientsAsync):
        // the worker polls often, and most rows it sees are already in flight.
        return (await c.QueryAsync<QueuedDelivery>(
            "SELECT * FROM deliveries WHERE state = @State AND next_attempt_at <= @Now ORDER BY next_attempt_at LIMIT @limit",
            new { State = DeliveryStates.Pending, Now, limit })).AsList();
    }

    /// <summary>
    /// Records one relay attempt in one transaction: each outcome updates its recipient; the
    /// delivery is Done when no recipient is pending, else it waits until <paramref name="nextAttempt"/>;
    /// a DSN for failed recipients is enqueued, and <paramref name="alsoInTransaction"/> (the audit
    /// events) is written with it, so a crash can neither lose nor double them. When this settles
    /// the last delivery of the message, the message is marked Done here too and the files it no
    /// longer needs are returned for deletion.
    /// </summary>
    public Task<AttemptRecorded> RecordAttemptAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlyCollection<string> giveUp,
        DateTimeOffset nextAttempt, string? lastError, NewDelivery? dsn, CancellationToken cancellationToken,
        Func<IDbConnection, IDbTransaction, Task>? alsoInTransaction = null) =>
        database.WriteAsync(async (c, t) =>
        {
            var now = Now;
            foreach (var outcome in outcomes)
            {
                var status = outcome.Status switch
                {
                    RecipientStatus.Delivered => RecipientStates.Delivered,
                    RecipientStatus.Failed => RecipientStates.Failed,
                    _ when giveUp.Contains(outcome.Recipient) => RecipientStates.Failed,
                    _ => RecipientStates.Pending,
                };
                await c.ExecuteAsync(
                    "UPDATE delivery_recipients SET status = @status, code = @Code, response = @Response, updated_at = @now WHERE delivery_id = @DeliveryId AND recipient = @Recipient",
                    new { status, outcome.Code, outcome.Response, now, delivery.DeliveryId, outcome.Recipient }, t);
            }
            if (dsn is not null) await InsertDeliveryAsync(c, t, delivery.QueueId, dsn);
            if (alsoInTransaction is not null) await alsoInTransaction(c, t);
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
    private static async Task<IReadOnlyList<string>> FinishIfSettledAsync(IDbConnection c, IDbTransaction t, string queueId)
    {
        // One statement: Done only when no delivery of the message is pending any more.
        var changed = await c.ExecuteAsync(
            """
            UPDATE messages SET state = @Done WHERE queue_id = @queueId AND state IN (@Processed, @Rejected)
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE queue_id = @queueId AND state = @Pending)
            """,
            new { queueId, MessageStates.Done, MessageStates.Processed, MessageStates.Rejected, DeliveryStates.Pending }, t);
        if (changed == 0) return [];
        return (await c.QueryAsync<string>(
            "SELECT spool_path FROM messages WHERE queue_id = @queueId UNION SELECT content_path FROM deliveries WHERE queue_id = @queueId",
            new { queueId }, t)).AsList();
    }

    /// <summary>Marks a processed or rejected message Done once none of its deliveries is pending; returns true when it did.</summary>
    public Task<bool> TryFinishMessageAsync(string queueId, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => (await FinishIfSettledAsync(c, t, queueId)).Count > 0, cancellationToken);

    public async Task<IReadOnlyList<QueuedMessage>> MessagesInStateAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken)
    {
        await using var c = await database.OpenAsync(cancellationToken);
        return (await c.QueryAsync<QueuedMessage>("SELECT * FROM messages WHERE state IN @states ORDER BY received_at", new { states })).AsList();
    }

    public async Task<IReadOnlyList<QueuedDelivery>> PendingDeliveriesAsync(CancellationToken cancellationToken)
    {
        await using var c = await database.OpenAsync(cancellationToken);
        var rows = (await c.QueryAsync<QueuedDelivery>("SELECT * FROM deliveries WHERE state = @Pending ORDER BY created_at", new { DeliveryStates.Pending })).AsList();
        foreach (var row in rows) row.PendingRecipients = await PendingRecipientsAsync(c, row.DeliveryId);
        return rows;
    }

    /// <summary>`queue retry ID`: makes a waiting message or delivery due now. Returns false when the id is unknown or not waiting.</summary>
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

    /// <summary>A held message goes back to processing (after its file was moved back to incoming).</summary>
    public Task<bool> ReleaseHeldAsync(string queueId, string spoolPath, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => await c.ExecuteAsync(
            "UPDATE messages SET state = @Received, spool_path = @spoolPath, next_attempt_at = @Now, attempts = 0 WHERE queue_id = @queueId AND state = @Held",
            new { queueId, spoolPath, Now, MessageStates.Received, MessageStates.Held }, t) > 0, cancellationToken);

    private static async Task InsertDeliveryAsync(IDbConnection c, IDbTransaction t, string queueId, NewDelivery d)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        await c.ExecuteAsync(
            """
            INSERT INTO deliveries (delivery_id, queue_id, sender, content_path, content_offset, action, rule_name, require_tls, is_dsn, created_at, attempts, next_attempt_at, state)
            VALUES (@DeliveryId, @queueId, @Sender, @ContentPath, @ContentOffset, @Action, @RuleName, @RequireTls, @IsDsn, @now, 0, @now, @Pending)
            """,
            new { d.DeliveryId, queueId, d.Sender, d.ContentPath, d.ContentOffset, d.Action, d.RuleName, d.RequireTls, d.IsDsn, now, DeliveryStates.Pending }, t);
        foreach (var recipient in d.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            await c.ExecuteAsync(
                "INSERT INTO delivery_recipients (delivery_id, recipient, status, updated_at) VALUES (@DeliveryId, @recipient, @Pending, @now)",
                new { d.DeliveryId, recipient, RecipientStates.Pending, now }, t);
        }
    }

    /// <summary>Recipients of a delivery not yet delivered or failed.</summary>
    public async Task<IReadOnlyList<string>> PendingRecipientsAsync(string deliveryId, CancellationToken cancellationToken)
    {
        await using var c = await database.OpenAsync(cancellationToken);
        return await PendingRecipientsAsync(c, deliveryId);
    }

    private static async Task<IReadOnlyList<string>> PendingRecipientsAsync(IDbConnection c, string deliveryId) =>
        (await c.QueryAsync<string>(
            "SELECT recipient FROM delivery_recipients WHERE delivery_id = @deliveryId AND status = @Pending ORDER BY recipient",
            new { deliveryId, RecipientStates.Pending })).AsList();
}
