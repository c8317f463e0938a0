using Dapper;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// Web sessions of verified recipients in <c>pickup_sessions</c>; only hashes of the cookie values
/// are stored. On a shared database a session made through one instance is valid on every other.
/// </summary>
public sealed class SqlPickupSessions(ISqlDatabase database, PickupOptions options, TimeProvider time) : IPickupSessions
{
    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<string> CreateSessionAsync(string packageId, CancellationToken cancellationToken)
    {
        var session = PickupSecrets.NewToken();
        var now = Now;
        await database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync("DELETE FROM pickup_sessions WHERE expires_at <= @now", new { now }, t);
            await c.ExecuteAsync("INSERT INTO pickup_sessions (session_hash, package_id, created_at, expires_at) VALUES (@hash, @packageId, @now, @expires)",
                new { hash = PickupSecrets.Hash(session), packageId, now, expires = now + (long)options.SessionLifetime.TotalMilliseconds }, t);
        }, cancellationToken);
        return session;
    }

    public async Task<bool> IsSessionValidAsync(string packageId, string? session, CancellationToken cancellationToken)
    {
        if (!PickupSecrets.LooksLikeToken(session)) return false;
        var hash = PickupSecrets.Hash(session!);
        var now = Now;
        var stored = await database.ReadAsync(c => c.QuerySingleOrDefaultAsync<string>(
            "SELECT session_hash FROM pickup_sessions WHERE session_hash = @hash AND package_id = @packageId AND expires_at > @now",
            new { hash, packageId, now }), cancellationToken);
        return stored is not null && PickupSecrets.HashEquals(stored, hash);
    }
}
