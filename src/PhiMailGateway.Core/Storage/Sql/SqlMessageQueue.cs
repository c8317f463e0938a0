using System.Data.Common;
using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The queue's state changes, the same on both databases: each is one short write transaction of
/// the <see cref="ISqlDatabase"/>, and audit rows that belong to a state change are appended to the
/// chain in the same transaction. What truly differs lives in the two subclasses: how due work is
/// taken (SQLite reads it, its one process being the only worker; PostgreSQL claims it with a lease,
/// <c>FOR UPDATE SKIP LOCKED</c>) and the lease a deferral or settlement gives up.
/// Lock order where the database has row locks, so that no two transactions wait for each other:
/// the audit chain's lock first (when the transaction appends to the chain), then the message row,
/// then its deliveries.
/// </summary>
public abstract class SqlMessageQueue : IMessageQueue
{
    private readonly ISqlDatabase _database;
    private readonly AuditChainSealer _sealer;
    private readonly TimeProvider _time;
    private readonly SqlDialect _dialect;
    private readonly QueueRows _rows;
    private readonly string? _node;
    private readonly string _deferMessage;
    private readonly string _deferMessageAfterFailure;
    private readonly string _deferDeliveryAfterFailure;
    private readonly string _setMessageState;
    private readonly string _settleDelivery;
    private readonly string _releaseHeld;
    private readonly string _commitDisposition;
    private readonly string _messagesInStates;
    private readonly string _countByState;
    private readonly string _oldestInStates;

    /// <param name="releaseLease">
    /// SET clauses, each starting with a comma, that give up this instance's lease on the row a
    /// deferral or settlement changes; empty where there are no leases.
    /// </param>
    /// <param name="node">This instance's name in the lease columns (bound as <c>@Node</c>), or null without leases.</param>
    private protected SqlMessageQueue(ISqlDatabase database, AuditChainSealer sealer, TimeProvider time, string releaseLease, string? node)
    {
        _database = database;
        _sealer = sealer;
        _time = time;
        _dialect = database.Dialect;
        _rows = new QueueRows(database.Dialect);
        _node = node;
        _deferMessage = $"UPDATE messages SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason{releaseLease} WHERE queue_id = @queueId";
        _deferMessageAfterFailure = $"{_deferMessage} AND state = @Received";
        _deferDeliveryAfterFailure =
            $"UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason{releaseLease} WHERE delivery_id = @deliveryId AND state = @Pending";
        _setMessageState =
            $"UPDATE messages SET state = @state, last_error = @reason, spool_path = COALESCE(@spoolPath, spool_path){releaseLease} WHERE queue_id = @queueId";
        _settleDelivery =
            $"UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @next, state = @state, last_error = @lastError{releaseLease} WHERE delivery_id = @DeliveryId";
        _releaseHeld =
            $"UPDATE messages SET state = @Received, spool_path = @spoolPath, next_attempt_at = @Now, attempts = 0{releaseLease} WHERE queue_id = @queueId AND state = @Held";
        _commitDisposition = $"UPDATE messages SET state = @State, last_error = @Reason{releaseLease} WHERE queue_id = @QueueId";
        _messagesInStates = $"SELECT * FROM messages WHERE {database.Dialect.In("state", "@states")} ORDER BY received_at, queue_id";
        _countByState = $"SELECT state, COUNT(*) FROM messages WHERE {database.Dialect.In("state", "@states")} GROUP BY state";
        _oldestInStates = $"SELECT MIN(received_at) FROM messages WHERE {database.Dialect.In("state", "@states")}";
    }

    /// <summary>The database, for the subclass's reads and claims of due work.</summary>
    private protected ISqlDatabase Database => _database;

    private protected long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task RecordReceivedAsync(SpoolEntry entry, CancellationToken cancellationToken) =>
        _database.WriteAsync((c, t) => c.ExecuteAsync(
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

    /// <inheritdoc/>
    public abstract Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken);

    /// <inheritdoc/>
    /// <remarks>Recipients are not loaded: the deliverer loads them when it starts on a row (<see cref="PendingRecipientsAsync(string, CancellationToken)"/>).</remarks>
    public abstract Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken);

    public Task<QueuedMessage?> FindMessageAsync(string queueId, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => c.QuerySingleOrDefaultAsync<QueuedMessage>("SELECT * FROM messages WHERE queue_id = @queueId", new { queueId }), cancellationToken);

    public Task CommitDisclosureAsync(MessageDisposition disposition, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        GuardRecords guard, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (c, t) =>
        {
            if (records.Count > 0) await SqlAuditChain.LockAsync(_dialect, c, t);
            foreach (var delivery in outbound) await _rows.InsertDeliveryAsync(c, t, disposition.QueueId, delivery, Now);
            await SqlGuardHolds.InsertAsync(c, t, disposition.QueueId, guard, Now);
            await SqlAuditChain.AppendAsync(_dialect, _sealer, c, t, records);
            // The disposition itself where no lease is named: no parameter object of its own per message.
            object parameters = _node is null ? disposition : new { disposition.State, disposition.Reason, disposition.QueueId, Node = _node };
            await c.ExecuteAsync(_commitDisposition, parameters, t);
        }, cancellationToken);

    public Task EnqueueGeneratedAsync(string queueId, NewDelivery delivery, long size, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync(
                """
                INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at)
                VALUES (@queueId, @State, @Sender, @RecipientCount, @size, @ContentPath, @Now, 0, @Now)
                """,
                new { queueId, State = MessageStates.Processed, delivery.Sender, RecipientCount = (long)delivery.Recipients.Count, size, delivery.ContentPath, Now }, t);
            await _rows.InsertDeliveryAsync(c, t, queueId, delivery, Now);
        }, cancellationToken);

    public Task DeferMessageAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        _database.WriteAsync((c, t) => c.ExecuteAsync(_deferMessage,
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, Node = _node }, t), cancellationToken);

    public Task DeferMessageAfterFailureAsync(string queueId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        _database.WriteAsync((c, t) => c.ExecuteAsync(_deferMessageAfterFailure,
            new { queueId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, MessageStates.Received, Node = _node }, t), cancellationToken);

    public Task DeferDeliveryAfterFailureAsync(string deliveryId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        _database.WriteAsync((c, t) => c.ExecuteAsync(_deferDeliveryAfterFailure,
            new { deliveryId, next = nextAttempt.ToUnixTimeMilliseconds(), reason, DeliveryStates.Pending, Node = _node }, t), cancellationToken);

    public Task SetMessageStateAsync(string queueId, string state, string? reason, string? spoolPath, CancellationToken cancellationToken) =>
        _database.WriteAsync((c, t) => c.ExecuteAsync(_setMessageState,
            new { queueId, state, reason, spoolPath, Node = _node }, t), cancellationToken);

    public Task<AttemptRecorded> RecordAttemptAsync(QueuedDelivery delivery, IReadOnlyList<RecipientOutcome> outcomes, IReadOnlyCollection<string> giveUp,
        DateTimeOffset nextAttempt, string? lastError, IReadOnlyList<NewDelivery> newDeliveries, IReadOnlyList<AuditRow> auditEvents, GuardRecords holds,
        CancellationToken cancellationToken) =>
        _database.WriteAsync(async (c, t) =>
        {
            var now = Now;
            if (auditEvents.Count > 0) await SqlAuditChain.LockAsync(_dialect, c, t);
            // The message row first: two instances settling the last two deliveries of one message
            // at once would each still see the other's as pending, and neither would mark it Done.
            await _rows.LockMessageAsync(c, t, delivery.QueueId);
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
            foreach (var added in newDeliveries) await _rows.InsertDeliveryAsync(c, t, delivery.QueueId, added, now);
            await SqlGuardHolds.InsertAsync(c, t, delivery.QueueId, holds, now);
            await SqlAuditChain.AppendAsync(_dialect, _sealer, c, t, auditEvents);
            var pending = await c.ExecuteScalarAsync<long>(
                "SELECT COUNT(*) FROM delivery_recipients WHERE delivery_id = @DeliveryId AND status = @Pending",
                new { delivery.DeliveryId, RecipientStates.Pending }, t);
            var done = pending == 0;
            await c.ExecuteAsync(_settleDelivery,
                new { next = nextAttempt.ToUnixTimeMilliseconds(), state = done ? DeliveryStates.Done : DeliveryStates.Pending, lastError, delivery.DeliveryId, Node = _node }, t);
            if (!done) return new AttemptRecorded(false, []);
            return new AttemptRecorded(true, await _rows.FinishIfSettledAsync(c, t, delivery.QueueId));
        }, cancellationToken);

    public Task<bool> TryFinishMessageAsync(string queueId, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (c, t) => (await _rows.FinishIfSettledAsync(c, t, queueId)).Count > 0, cancellationToken);

    public Task<IReadOnlyList<QueuedMessage>> MessagesInStateAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        _database.ReadAsync(async c => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            _messagesInStates, new { states = SqlDialect.ListParameter(states) })).AsList(), cancellationToken);

    public Task<IReadOnlyList<QueuedDelivery>> PendingDeliveriesAsync(CancellationToken cancellationToken) =>
        _database.ReadAsync(async c =>
        {
            var rows = (await c.QueryAsync<QueuedDelivery>("SELECT * FROM deliveries WHERE state = @Pending ORDER BY created_at, delivery_id", new { DeliveryStates.Pending })).AsList();
            foreach (var row in rows) row.PendingRecipients = await PendingRecipientsAsync(c, row.DeliveryId);
            return (IReadOnlyList<QueuedDelivery>)rows;
        }, cancellationToken);

    public Task<bool> RetryNowAsync(string id, CancellationToken cancellationToken) =>
        _database.WriteAsync(async (c, t) =>
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
        _database.WriteAsync(async (c, t) => await c.ExecuteAsync(_releaseHeld,
            new { queueId, spoolPath, Now, MessageStates.Received, MessageStates.Held, Node = _node }, t) > 0, cancellationToken);

    public Task<IReadOnlyList<string>> PendingRecipientsAsync(string deliveryId, CancellationToken cancellationToken) =>
        _database.ReadAsync(c => PendingRecipientsAsync(c, deliveryId), cancellationToken);

    private static async Task<IReadOnlyList<string>> PendingRecipientsAsync(DbConnection c, string deliveryId) =>
        (await c.QueryAsync<string>(
            "SELECT recipient FROM delivery_recipients WHERE delivery_id = @deliveryId AND status = @Pending ORDER BY recipient",
            new { deliveryId, RecipientStates.Pending })).AsList();

    public Task<QueueCounts> CountAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        _database.ReadAsync(async c =>
        {
            var list = SqlDialect.ListParameter(states);
            var byState = (await c.QueryAsync<(string State, long Count)>(_countByState, new { states = list }))
                .ToDictionary(r => r.State, r => r.Count, StringComparer.Ordinal);
            var oldest = await c.ExecuteScalarAsync<long?>(_oldestInStates, new { states = list });
            var pending = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM deliveries WHERE state = @pending", new { pending = DeliveryStates.Pending });
            return new QueueCounts(byState, pending, oldest is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null);
        }, cancellationToken);
}

/// <summary>
/// The queue's row writes that other stores make in their own transactions too (the guard's
/// decisions add deliveries and may finish a message). Its SQL is built once, for one dialect.
/// </summary>
internal sealed class QueueRows
{
    private static readonly string[] OpenHolds = [.. GuardHoldStates.Open];

    private readonly bool _arrays;
    private readonly string? _lockMessage;
    private readonly string _finishIfSettled;

    public QueueRows(SqlDialect dialect)
    {
        _arrays = dialect.ArrayParameters;
        _lockMessage = dialect.LockRows("messages", "queue_id = @queueId");
        // One statement: Done only when no delivery of the message is pending any more, and no copy
        // the guard holds may still be released (the release reads the spool file again).
        _finishIfSettled = $"""
            UPDATE messages SET state = @Done WHERE queue_id = @queueId AND state IN (@Processed, @Rejected)
            AND NOT EXISTS (SELECT 1 FROM deliveries WHERE queue_id = @queueId AND state = @Pending)
            AND NOT EXISTS (SELECT 1 FROM guard_holds WHERE queue_id = @queueId AND {dialect.In("state", "@OpenHolds")})
            """;
    }

    /// <summary>Locks the message row where the database has row locks (see <see cref="SqlMessageQueue"/> on lock order).</summary>
    public Task LockMessageAsync(DbConnection c, DbTransaction t, string queueId) =>
        _lockMessage is null ? Task.CompletedTask : c.ExecuteAsync(_lockMessage, new { queueId }, t);

    /// <summary>Marks a processed or rejected message Done once none of its deliveries is pending; returns the files it leaves behind (spool file, generated copies), or empty.</summary>
    public async Task<IReadOnlyList<string>> FinishIfSettledAsync(DbConnection c, DbTransaction t, string queueId)
    {
        // Locked before the check, as a statement of its own: the check that follows then reads
        // what every transaction that held the row before has committed.
        await LockMessageAsync(c, t, queueId);
        var changed = await c.ExecuteAsync(_finishIfSettled,
            new { queueId, MessageStates.Done, MessageStates.Processed, MessageStates.Rejected, DeliveryStates.Pending, OpenHolds }, t);
        if (changed == 0) return [];
        return (await c.QueryAsync<string>(
            "SELECT spool_path FROM messages WHERE queue_id = @queueId UNION SELECT content_path FROM deliveries WHERE queue_id = @queueId",
            new { queueId }, t)).AsList();
    }

    /// <param name="now">The store's clock (unix ms), the one due work is compared with.</param>
    public async Task InsertDeliveryAsync(DbConnection c, DbTransaction t, string queueId, NewDelivery d, long now)
    {
        await c.ExecuteAsync(
            """
            INSERT INTO deliveries (delivery_id, queue_id, sender, content_path, content_offset, action, rule_name, require_tls, is_dsn, created_at, attempts, next_attempt_at, state)
            VALUES (@DeliveryId, @queueId, @Sender, @ContentPath, @ContentOffset, @Action, @RuleName, @RequireTls, @IsDsn, @now, 0, @due, @Pending)
            """,
            new { d.DeliveryId, queueId, d.Sender, d.ContentPath, d.ContentOffset, d.Action, d.RuleName, d.RequireTls, d.IsDsn, now,
                due = Math.Max(now, d.NotBefore?.ToUnixTimeMilliseconds() ?? now), DeliveryStates.Pending }, t);
        var recipients = d.Recipients.Distinct(StringComparer.OrdinalIgnoreCase);
        if (_arrays)
        {
            // One statement for all recipients: a round trip to a database server costs more than the row.
            await c.ExecuteAsync(
                "INSERT INTO delivery_recipients (delivery_id, recipient, status, updated_at) SELECT @DeliveryId, unnest(@recipients), @Pending, @now",
                new { d.DeliveryId, recipients = recipients.ToArray(), RecipientStates.Pending, now }, t);
            return;
        }
        foreach (var recipient in recipients)
        {
            await c.ExecuteAsync(
                "INSERT INTO delivery_recipients (delivery_id, recipient, status, updated_at) VALUES (@DeliveryId, @recipient, @Pending, @now)",
                new { d.DeliveryId, recipient, RecipientStates.Pending, now }, t);
        }
    }
}
