using System.Data;
using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>The guard's held copies in <c>guard_holds</c>; each change commits with its audit events.</summary>
public sealed class SqliteGuardHolds(GatewayDatabase database, AuditChainSealer sealer, TimeProvider time) : IGuardHolds
{
    private const string Select = "SELECT h.*, m.sender FROM guard_holds h JOIN messages m ON m.queue_id = h.queue_id";

    /// <summary>Written by <see cref="SqliteMessageQueue.CommitDisclosureAsync"/> in the transaction of the message's other copies.</summary>
    internal static Task InsertAsync(IDbConnection c, IDbTransaction t, string queueId, NewGuardHold hold, long now) =>
        c.ExecuteAsync(
            """
            INSERT INTO guard_holds (hold_id, queue_id, recipient, reasons, checks, token_hash, state, created_at, expires_at)
            VALUES (@HoldId, @queueId, @Recipient, @ReasonText, @CheckNames, @TokenHash, @Held, @now, @expires)
            """,
            new { hold.HoldId, queueId, hold.Recipient, hold.ReasonText, hold.CheckNames, hold.TokenHash, GuardHoldStates.Held, now,
                expires = hold.ExpiresAt.ToUnixTimeMilliseconds() }, t);

    public Task<GuardHold?> FindAsync(string holdId, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.QuerySingleOrDefaultAsync<GuardHold>($"{Select} WHERE h.hold_id = @holdId", new { holdId }), cancellationToken);

    public Task<IReadOnlyList<GuardHold>> ByTokenAsync(string tokenHash, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<GuardHold>)(await c.QueryAsync<GuardHold>(
            $"{Select} WHERE h.token_hash = @tokenHash ORDER BY h.hold_id", new { tokenHash })).AsList(), cancellationToken);

    public Task<IReadOnlyList<GuardHold>> InStatesAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<GuardHold>)(await c.QueryAsync<GuardHold>(
            $"{Select} WHERE h.state IN @states ORDER BY h.created_at, h.hold_id", new { states })).AsList(), cancellationToken);

    public Task<IReadOnlyList<GuardHold>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<GuardHold>)(await c.QueryAsync<GuardHold>(
            $"""
            {Select} WHERE (h.state = @Released AND h.next_attempt_at <= @now) OR (h.state = @Held AND h.expires_at <= @now)
            ORDER BY h.created_at LIMIT @limit
            """,
            new { GuardHoldStates.Released, GuardHoldStates.Held, now = now.ToUnixTimeMilliseconds(), limit })).AsList(), cancellationToken);

    public Task DeferAsync(string holdId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            "UPDATE guard_holds SET attempts = attempts + 1, next_attempt_at = @next, last_error = @reason WHERE hold_id = @holdId",
            new { holdId, next = nextAttempt.ToUnixTimeMilliseconds(), reason }, t), cancellationToken);

    public Task<HoldDecided> DecideAsync(string holdId, GuardDecision decision, IReadOnlyList<AuditRow> events, NewDelivery? notice,
        CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            var queueId = await c.ExecuteScalarAsync<string?>(
                """
                UPDATE guard_holds SET state = @State, decided_at = @now, decided_by = @By, decision_reason = @Reason
                WHERE hold_id = @holdId AND state = @Held RETURNING queue_id
                """,
                new { decision.State, now = time.GetUtcNow().ToUnixTimeMilliseconds(), decision.By, decision.Reason, holdId, GuardHoldStates.Held }, t);
            if (queueId is null) return new HoldDecided(false, []);
            if (notice is not null) await SqliteMessageQueue.InsertDeliveryAsync(c, t, queueId, notice);
            await SqliteAuditChain.AppendAsync(sealer, c, t, events);
            return new HoldDecided(true, await SqliteMessageQueue.FinishIfSettledAsync(c, t, queueId));
        }, cancellationToken);

    public Task<HoldDecided> CommitReleaseAsync(string holdId, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            var queueId = await c.ExecuteScalarAsync<string?>(
                "UPDATE guard_holds SET state = @Sent WHERE hold_id = @holdId AND state = @Released RETURNING queue_id",
                new { GuardHoldStates.Sent, holdId, GuardHoldStates.Released }, t);
            if (queueId is null) return new HoldDecided(false, []);
            foreach (var delivery in outbound) await SqliteMessageQueue.InsertDeliveryAsync(c, t, queueId, delivery);
            await SqliteAuditChain.AppendAsync(sealer, c, t, records);
            return new HoldDecided(true, await SqliteMessageQueue.FinishIfSettledAsync(c, t, queueId));
        }, cancellationToken);
}
