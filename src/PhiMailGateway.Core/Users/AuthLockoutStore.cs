using Dapper;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Users;

/// <summary>
/// The AUTH lockouts the gateway started, kept in <see cref="GatewayDatabase"/> so that <c>users unlock
/// NAME</c>, run as its own process, can clear them. Only the rare paths touch it (a lockout starting,
/// an attempt against a lockout, the CLI verb): a successful or ordinary failed AUTH never reads it.
/// An unlock is a generation number per user rather than a time, so the gateway and the CLI need not
/// share a clock (and a test's manual clock cannot confuse them).
/// </summary>
public sealed class AuthLockoutStore(GatewayDatabase database, TimeProvider? time = null)
{
    public const string PairScope = "pair";
    public const string UserScope = "user";

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Records a lockout that just started; returns the user's unlock generation at that moment.</summary>
    public Task<long> RecordAsync(string userName, string scope, string client, DateTimeOffset lockedAt, DateTimeOffset lockedUntil, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            // Expired rows go here, so the table stays as small as the lockouts running.
            await connection.ExecuteAsync("DELETE FROM auth_lockouts WHERE locked_until <= @now",
                new { now = lockedAt.ToUnixTimeMilliseconds() }, transaction);
            await connection.ExecuteAsync(
                """
                INSERT INTO auth_lockouts (user_name, scope, client, locked_at, locked_until)
                VALUES (@userName, @scope, @client, @lockedAt, @lockedUntil)
                ON CONFLICT (user_name, scope, client) DO UPDATE SET locked_at = excluded.locked_at, locked_until = excluded.locked_until
                """,
                new { userName, scope, client, lockedAt = lockedAt.ToUnixTimeMilliseconds(), lockedUntil = lockedUntil.ToUnixTimeMilliseconds() },
                transaction);
            return await connection.ExecuteScalarAsync<long?>(
                "SELECT generation FROM auth_unlocks WHERE user_name = @userName", new { userName }, transaction) ?? 0;
        }, cancellationToken);

    /// <summary>The user's unlock generation now (0 when never unlocked).</summary>
    public async Task<long> GenerationAsync(string userName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT generation FROM auth_unlocks WHERE user_name = @userName", new { userName }, cancellationToken: cancellationToken)) ?? 0;
    }

    /// <summary>
    /// Clears the user's lockouts (per address and user, and per user from all addresses): the running
    /// gateway sees the new generation at the next attempt. Returns how many recorded lockouts were
    /// still running. A lockout per client address over all user names is not the user's and stays.
    /// </summary>
    public Task<int> UnlockAsync(string userName, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return database.WriteAsync(async (connection, transaction) =>
        {
            var running = await connection.ExecuteScalarAsync<int>(
                "SELECT COUNT(*) FROM auth_lockouts WHERE user_name = @userName AND locked_until > @now", new { userName, now }, transaction);
            await connection.ExecuteAsync("DELETE FROM auth_lockouts WHERE user_name = @userName", new { userName }, transaction);
            await connection.ExecuteAsync(
                """
                INSERT INTO auth_unlocks (user_name, generation, unlocked_at) VALUES (@userName, 1, @now)
                ON CONFLICT (user_name) DO UPDATE SET generation = auth_unlocks.generation + 1, unlocked_at = excluded.unlocked_at
                """,
                new { userName, now }, transaction);
            return running;
        }, cancellationToken);
    }

    /// <summary>The lockouts still running, newest first: for <c>users list</c>.</summary>
    public async Task<IReadOnlyList<AuthLockout>> ListRunningAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<LockoutRow>(new CommandDefinition(
            "SELECT user_name AS UserName, scope AS Scope, client AS Client, locked_until AS LockedUntil FROM auth_lockouts WHERE locked_until > @now ORDER BY locked_until DESC",
            new { now }, cancellationToken: cancellationToken));
        return rows.Select(r => new AuthLockout(r.UserName, r.Scope, r.Client, DateTimeOffset.FromUnixTimeMilliseconds(r.LockedUntil))).ToList();
    }

    private sealed record LockoutRow(string UserName, string Scope, string Client, long LockedUntil);
}

/// <summary>One running lockout: whose, which scope, from which client (empty for the per-user scope), until when.</summary>
public sealed record AuthLockout(string UserName, string Scope, string Client, DateTimeOffset LockedUntil);
