using Dapper;
using Npgsql;
using PhiMailGateway.Guard;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>The guard's held copies in <c>guard_holds</c>: so far the rows the queue writes with a message's other copies.</summary>
internal static class PostgreSqlGuardHolds
{
    /// <summary>Written by <see cref="PostgreSqlMessageQueue.CommitDisclosureAsync"/> in the transaction of the message's other copies.</summary>
    public static async Task InsertAsync(System.Data.Common.DbConnection c, System.Data.Common.DbTransaction t, string queueId, GuardRecords guard, long now)
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
}
