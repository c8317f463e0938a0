using System.Security.Cryptography;
using System.Text;
using Dapper;
using PhiMailGateway.Users;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// AUTH lockouts and unlock generations in the <c>auth_lockouts</c> and <c>auth_unlocks</c> tables.
/// On a shared database they are global: a lockout one instance records is listed, restored and
/// cleared (<c>users unlock</c>) through any other, and the unlock generation is one number per user
/// for all of them, raised in one statement so two unlocks at once both count.
/// </summary>
public sealed class SqlAuthLockouts(ISqlDatabase database, TimeProvider? time = null) : IAuthLockouts
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;

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

    public async Task<long> GenerationAsync(string userName, CancellationToken cancellationToken) =>
        await database.ReadAsync(c => c.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT generation FROM auth_unlocks WHERE user_name = @userName", new { userName }, cancellationToken: cancellationToken)), cancellationToken) ?? 0;

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

    public async Task<IReadOnlyList<AuthLockout>> ListRunningAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = await database.ReadAsync(c => c.QueryAsync<LockoutRow>(new CommandDefinition(
            """
            SELECT user_name AS UserName, scope AS Scope, client AS Client, locked_until AS LockedUntil FROM auth_lockouts
            WHERE locked_until > @now ORDER BY locked_until DESC, user_name, scope, client
            """,
            new { now }, cancellationToken: cancellationToken)), cancellationToken);
        return rows.Select(r => new AuthLockout(r.UserName, r.Scope, r.Client, DateTimeOffset.FromUnixTimeMilliseconds(r.LockedUntil))).ToList();
    }

    public Task<int> CountFailureAsync(string key, DateTimeOffset now, TimeSpan window, CancellationToken cancellationToken)
    {
        var at = now.ToUnixTimeMilliseconds();
        var windowMs = (long)window.TotalMilliseconds;
        var keyHash = KeyHash(key);
        return database.WriteAsync(async (connection, transaction) =>
        {
            // Windows that ended go here, so the table stays as small as the guessing going on.
            await connection.ExecuteAsync("DELETE FROM auth_failures WHERE window_start < @before",
                new { before = at - windowMs }, transaction);
            // One statement, so failures counted at once through several instances each count:
            // both databases evaluate the SET against the row as it was, under the row's lock.
            return (int)await connection.ExecuteScalarAsync<long>(
                """
                INSERT INTO auth_failures (key_hash, window_start, failures) VALUES (@keyHash, @at, 1)
                ON CONFLICT (key_hash) DO UPDATE SET
                    failures = CASE WHEN @at - auth_failures.window_start > @windowMs THEN 1 ELSE auth_failures.failures + 1 END,
                    window_start = CASE WHEN @at - auth_failures.window_start > @windowMs THEN @at ELSE auth_failures.window_start END
                RETURNING failures
                """, new { keyHash, at, windowMs }, transaction);
        }, cancellationToken);
    }

    public Task ClearFailuresAsync(string key, CancellationToken cancellationToken)
    {
        var keyHash = KeyHash(key);
        return database.WriteAsync((connection, transaction) =>
            connection.ExecuteAsync("DELETE FROM auth_failures WHERE key_hash = @keyHash", new { keyHash }, transaction), cancellationToken);
    }

    // Keys carry whatever a stranger typed as a user name (up to an AUTH line long): only a fixed-size
    // hash of it is stored, never the name.
    private static string KeyHash(string key) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private sealed record LockoutRow(string UserName, string Scope, string Client, long LockedUntil);
}
