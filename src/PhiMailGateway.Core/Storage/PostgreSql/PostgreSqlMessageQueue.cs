using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage.Sql;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// The queue shared by every instance on one PostgreSQL database. Work is shared by leases: the
/// due-work reads claim what they return (<c>FOR UPDATE SKIP LOCKED</c>, so two instances polling
/// at once take different rows and neither waits), stamping the row with this instance's
/// <c>Gateway:NodeName</c> and an expiry <c>Storage:LeaseTime</c> ahead. Rows another instance holds
/// a live lease on are not returned; once that lease runs out (the instance died, or was cut off)
/// any instance takes the row over. An instance sees its own leased rows again, renewing their
/// lease, as the queue worker expects of every store (it skips what it already has in flight).
/// Deferring or settling a row gives up this instance's lease on it (the state changes themselves
/// are <see cref="SqlMessageQueue"/>'s, shared with SQLite).
/// Leases are compared with each instance's own clock, as next_attempt_at already is: instances
/// are expected to keep time (NTP) well within the lease time.
/// </summary>
public sealed class PostgreSqlMessageQueue(PostgreSqlGatewayStorage storage, AuditChainSealer sealer, TimeProvider time,
    GatewayOptions gateway, StorageOptions options) : SqlMessageQueue(storage, sealer, time, ReleaseLease, gateway.NodeName)
{
    private readonly string _node = gateway.NodeName;
    private readonly long _leaseMs = (long)options.LeaseTime.TotalMilliseconds;

    /// <summary>SET clauses that give up this instance's lease and leave another instance's alone.</summary>
    private const string ReleaseLease =
        ", lease_owner = CASE WHEN lease_owner = @Node THEN NULL ELSE lease_owner END, lease_until = CASE WHEN lease_owner = @Node THEN 0 ELSE lease_until END";

    private static readonly string ClaimMessages = ClaimSql("messages", "queue_id");
    private static readonly string ClaimDeliveries = ClaimSql("deliveries", "delivery_id");

    /// <summary>
    /// Takes up to @limit due rows of <paramref name="table"/> that no other instance holds a live
    /// lease on, skipping rows another instance is claiming at this moment, and stamps this
    /// instance's lease on them.
    /// </summary>
    private static string ClaimSql(string table, string id) => $"""
        WITH due AS (
            SELECT {id} FROM {table}
            WHERE state = @State AND next_attempt_at <= @now AND (lease_until <= @now OR lease_owner = @Node)
            ORDER BY next_attempt_at LIMIT @limit
            FOR UPDATE SKIP LOCKED)
        UPDATE {table} t SET lease_owner = @Node, lease_until = @until
        FROM due WHERE t.{id} = due.{id}
        RETURNING t.*
        """;

    /// <summary>Claims the due messages for this instance (see the class summary), earliest first.</summary>
    public override Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return Database.WriteAsync(async (c, t) => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(ClaimMessages,
            new { State = MessageStates.Received, now, limit, Node = _node, until = now + _leaseMs }, t))
            .OrderBy(m => m.NextAttemptAt).ThenBy(m => m.QueueId, StringComparer.Ordinal).ToList(), cancellationToken);
    }

    /// <summary>Claims the due deliveries for this instance (see the class summary), earliest first; recipients are not loaded.</summary>
    public override Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return Database.WriteAsync(async (c, t) => (IReadOnlyList<QueuedDelivery>)(await c.QueryAsync<QueuedDelivery>(ClaimDeliveries,
            new { State = DeliveryStates.Pending, now, limit, Node = _node, until = now + _leaseMs }, t))
            .OrderBy(d => d.NextAttemptAt).ThenBy(d => d.DeliveryId, StringComparer.Ordinal).ToList(), cancellationToken);
    }
}
