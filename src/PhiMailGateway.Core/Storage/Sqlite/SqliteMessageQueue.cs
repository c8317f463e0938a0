using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage.Sql;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// The queue in <c>gateway.db</c>: the shared state changes of <see cref="SqlMessageQueue"/>, each one
/// short BEGIN IMMEDIATE transaction of <see cref="GatewayDatabase"/> (which shares commits between
/// concurrent writers). One process works the queue, so due work is simply read: there are no leases.
/// </summary>
public sealed class SqliteMessageQueue(GatewayDatabase database, AuditChainSealer sealer, TimeProvider time)
    : SqlMessageQueue(database, sealer, time, releaseLease: "", node: null)
{
    public override async Task<IReadOnlyList<QueuedMessage>> DueMessagesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        return await Database.ReadAsync(async c => (IReadOnlyList<QueuedMessage>)(await c.QueryAsync<QueuedMessage>(
            "SELECT * FROM messages WHERE state = @State AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit",
            new { State = MessageStates.Received, now, limit })).AsList(), cancellationToken);
    }

    public override Task<IReadOnlyList<QueuedDelivery>> DueDeliveriesAsync(int limit, CancellationToken cancellationToken)
    {
        var now = Now;
        // The worker polls often, and most rows it sees are already in flight: recipients come later.
        return Database.ReadAsync(async c => (IReadOnlyList<QueuedDelivery>)(await c.QueryAsync<QueuedDelivery>(
            "SELECT * FROM deliveries WHERE state = @State AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit",
            new { State = DeliveryStates.Pending, now, limit })).AsList(), cancellationToken);
    }
}
