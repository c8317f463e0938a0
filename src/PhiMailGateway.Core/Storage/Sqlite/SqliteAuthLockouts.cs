using Dapper;

using PhiMailGateway.Users;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>AUTH lockouts and unlock generations in the <c>auth_lockouts</c> and <c>auth_unlocks</c> tables.</summary>
public sealed class SqliteAuthLockouts(GatewayDatabase database, TimeProvider? time = null) : IAuthLockouts
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

    public async Task<long> GenerationAsync(string userName, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        return await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT generation FROM auth_unlocks WHERE user_name = @userName", new { userName }, cancellationToken: cancellationToken)) ?? 0;
    }

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
        await using var connection = await database.OpenAsync(cancellationToken);
        var rows = await connection.QueryAsync<LockoutRow>(new CommandDefinition(
            "SELECT user_name AS UserName, scope AS Scope, client AS Client, locked_until AS LockedUntil FROM auth_lockouts WHERE locked_until > @now ORDER BY locked_until DESC",
            new { now }, cancellationToken: cancellationToken));
        return rows.Select(r => new AuthLockout(r.UserName, r.Scope, r.Client, DateTimeOffset.FromUnixTimeMilliseconds(r.LockedUntil))).ToList();
    }

    private sealed record LockoutRow(string UserName, string Scope, string Client, long LockedUntil);
}
