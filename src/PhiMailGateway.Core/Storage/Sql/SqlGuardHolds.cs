using System.Data.Common;
using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The guard's held copies in <c>guard_holds</c>; each change commits with its audit events, taking
/// the chain's lock before any row (see <see cref="SqlMessageQueue"/> on lock order).
/// </summary>
public sealed class SqlGuardHolds(ISqlDatabase database, AuditChainSealer sealer, TimeProvider time) : IGuardHolds
{
    private readonly SqlDialect _dialect = database.Dialect;
    private readonly QueueRows _rows = new(database.Dialect);
    private readonly string _inStates = $"{Select} WHERE {database.Dialect.In("h.state", "@states")} ORDER BY h.created_at, h.hold_id";

    private const string Select = "SELECT h.*, m.sender FROM guard_holds h JOIN messages m ON m.queue_id = h.queue_id";

    /// <summary>Written by <see cref="SqlMessageQueue.CommitDisclosureAsync"/> in the transaction of the message's other copies.</summary>
    internal static async Task InsertAsync(DbConnection c, DbTransaction t, string queueId, GuardRecords guard, long now)
    {
        foreach (var hold in guard.Holds)
        {
            await c.ExecuteAsync(
                """
                INSERT INTO guard_holds (hold_id, queue_id, recipient, reasons, checks, state, created_at, expires_at)
                VALUES (@HoldId, @queueId, @Recipient, @ReasonText, @CheckNames, @Held, @now, @expires)
                """,
                new { hold.HoldId, queueId, hold.Recipient, hold.ReasonText, hold.CheckNames, GuardHoldStates.Held, now,
                    expires = hold.ExpiresAt.ToUnixTimeMilliseconds() }, t);
        }
        if (guard.Link is { } link)
        {
            await c.ExecuteAsync(
                "INSERT INTO guard_links (token_hash, queue_id, created_at, expires_at) VALUES (@TokenHash, @queueId, @now, @expires)",
                new { link.TokenHash, queueId, now, expires = link.ExpiresAt.ToUnixTimeMilliseconds() }, t);
        }
    }

    public Task<GuardHold?> FindAsync(string holdId, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.QuerySingleOrDefaultAsync<GuardHold>($"{Select} WHERE h.hold_id = @holdId", new { holdId }), cancellationToken);

    public Task<string?> LinkedMessageAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.ExecuteScalarAsync<string?>(
            "SELECT queue_id FROM guard_links WHERE token_hash = @tokenHash AND expires_at > @now",
            new { tokenHash, now = now.ToUnixTimeMilliseconds() }), cancellationToken);

    public Task<SenderView> SenderViewAsync(string queueId, CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var held = (await c.QueryAsync<GuardHold>($"{Select} WHERE h.queue_id = @queueId ORDER BY h.hold_id", new { queueId })).AsList();
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            var copies = (await c.QueryAsync<(string DeliveryId, string Recipient, string Action, long NextAttemptAt, long Attempts, string State, string Status)>(
                """
                SELECT d.delivery_id, r.recipient, d.action, d.next_attempt_at, d.attempts, d.state, r.status
                FROM deliveries d JOIN delivery_recipients r ON r.delivery_id = d.delivery_id
                WHERE d.queue_id = @queueId AND NOT d.is_dsn ORDER BY d.created_at, d.delivery_id, r.recipient
                """, new { queueId }))
                .Select(r => new SenderCopy(r.DeliveryId, r.Recipient, r.Action, r.NextAttemptAt,
                    r.State == DeliveryStates.Pending && r.Attempts == 0 && r.NextAttemptAt > now, r.Status))
                .ToList();
            var packages = (await c.QueryAsync<(string PackageId, string Recipient, string State, long DownloadCount, long ExpiresAt)>(
                "SELECT package_id, recipient, state, download_count, expires_at FROM pickup_packages WHERE queue_id = @queueId ORDER BY created_at, package_id",
                new { queueId }))
                .Select(p => new SenderPackage(p.PackageId, p.Recipient, p.State, p.DownloadCount > 0, p.ExpiresAt))
                .ToList();
            return new SenderView(queueId, held, copies, packages);
        }, cancellationToken);

    public Task<HoldDecided> RecallAsync(string deliveryId, DateTimeOffset now, IReadOnlyList<AuditRow> events, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            if (events.Count > 0) await SqlAuditChain.LockAsync(_dialect, c, t);
            var at = now.ToUnixTimeMilliseconds();
            // Only a copy the worker cannot have picked up yet: never tried, and not yet due.
            var queueId = await c.ExecuteScalarAsync<string?>(
                """
                UPDATE deliveries SET state = @Done, last_error = 'recalled by the sender'
                WHERE delivery_id = @deliveryId AND state = @Pending AND attempts = 0 AND next_attempt_at > @at AND NOT is_dsn
                RETURNING queue_id
                """,
                new { deliveryId, at, DeliveryStates.Done, DeliveryStates.Pending }, t);
            if (queueId is null) return new HoldDecided(false, []);
            await c.ExecuteAsync(
                "UPDATE delivery_recipients SET status = @Failed, response = 'recalled by the sender', updated_at = @at WHERE delivery_id = @deliveryId AND status = @Pending",
                new { RecipientStates.Failed, at, deliveryId, RecipientStates.Pending }, t);
            await SqlAuditChain.AppendAsync(_dialect, sealer, c, t, events);
            return new HoldDecided(true, await _rows.FinishIfSettledAsync(c, t, queueId));
        }, cancellationToken);

    public Task<IReadOnlyList<GuardHold>> InStatesAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<GuardHold>)(await c.QueryAsync<GuardHold>(
            _inStates, new { states = SqlDialect.ListParameter(states) })).AsList(), cancellationToken);

    public Task<IReadOnlyList<GuardHold>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<GuardHold>)(await c.QueryAsync<GuardHold>(
            $"""
            {Select} WHERE (h.state = @Released AND h.next_attempt_at <= @now) OR (h.state = @Held AND h.expires_at <= @now)
            ORDER BY h.created_at, h.hold_id LIMIT @limit
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
            if (events.Count > 0) await SqlAuditChain.LockAsync(_dialect, c, t);
            var queueId = await c.ExecuteScalarAsync<string?>(
                """
                UPDATE guard_holds SET state = @State, decided_at = @now, decided_by = @By, decision_reason = @Reason
                WHERE hold_id = @holdId AND state = @Held RETURNING queue_id
                """,
                new { decision.State, now = time.GetUtcNow().ToUnixTimeMilliseconds(), decision.By, decision.Reason, holdId, GuardHoldStates.Held }, t);
            if (queueId is null) return new HoldDecided(false, []);
            if (notice is not null) await _rows.InsertDeliveryAsync(c, t, queueId, notice, time.GetUtcNow().ToUnixTimeMilliseconds());
            await SqlAuditChain.AppendAsync(_dialect, sealer, c, t, events);
            return new HoldDecided(true, await _rows.FinishIfSettledAsync(c, t, queueId));
        }, cancellationToken);

    public Task<HoldDecided> CommitReleaseAsync(string holdId, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            if (records.Count > 0) await SqlAuditChain.LockAsync(_dialect, c, t);
            var queueId = await c.ExecuteScalarAsync<string?>(
                "UPDATE guard_holds SET state = @Sent WHERE hold_id = @holdId AND state = @Released RETURNING queue_id",
                new { GuardHoldStates.Sent, holdId, GuardHoldStates.Released }, t);
            if (queueId is null) return new HoldDecided(false, []);
            foreach (var delivery in outbound) await _rows.InsertDeliveryAsync(c, t, queueId, delivery, time.GetUtcNow().ToUnixTimeMilliseconds());
            await SqlAuditChain.AppendAsync(_dialect, sealer, c, t, records);
            return new HoldDecided(true, await _rows.FinishIfSettledAsync(c, t, queueId));
        }, cancellationToken);
}
