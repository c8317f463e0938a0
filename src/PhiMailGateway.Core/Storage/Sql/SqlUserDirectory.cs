using Dapper;
using PhiMailGateway.Users;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// SMTP AUTH accounts in the <c>users</c> table; on a shared database an account added through one
/// instance (or the CLI) authenticates on every other.
/// PBKDF2 runs while no connection is open: a slow hash must not hold a pooled connection (or, for
/// writes, the database write lock) for tens of milliseconds.
/// </summary>
public sealed class SqlUserDirectory : IUserDirectory
{
    // Verified against when the user does not exist, so an unknown name costs the same PBKDF2 work as
    // a known one and AUTH timing does not reveal which accounts exist. It tracks DefaultIterations; its
    // hash is all zeros, which no password derives to in practice.
    private static readonly string DummyHash = PasswordHasher.Format(
        PasswordHasher.DefaultIterations, "phimail-dummy-16"u8.ToArray(), new byte[PasswordHasher.HashBytes]);

    private readonly ISqlDatabase _database;
    private readonly TimeProvider _time;
    private readonly string _list;
    private readonly VerifiedPasswordCache? _verified;

    /// <param name="verified">Where a returning user's checked password is remembered (serve); null checks every time (the CLI).</param>
    public SqlUserDirectory(ISqlDatabase database, TimeProvider? time = null, VerifiedPasswordCache? verified = null)
    {
        _database = database;
        _time = time ?? TimeProvider.System;
        _verified = verified;
        _list = $"SELECT name AS Name, created_at AS CreatedAt, updated_at AS UpdatedAt FROM users ORDER BY {database.Dialect.Binary("name")}";
    }

    public async Task<bool> AddOrUpdateAsync(string name, string password, CancellationToken cancellationToken)
    {
        var normalized = UserName.Normalize(name, nameof(name));
        if (string.IsNullOrEmpty(password)) throw new ArgumentException("The password must not be empty.", nameof(password));
        var hash = PasswordHasher.Hash(password);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return await _database.WriteAsync(async (connection, transaction) =>
        {
            var updated = await connection.ExecuteAsync(
                "UPDATE users SET password_hash = @hash, updated_at = @now WHERE name = @name",
                new { name = normalized, hash, now }, transaction);
            if (updated > 0) return false;
            await connection.ExecuteAsync(
                "INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (@name, @hash, @now, @now)",
                new { name = normalized, hash, now }, transaction);
            return true;
        }, cancellationToken);
    }

    public async Task<bool> RemoveAsync(string name, CancellationToken cancellationToken)
    {
        var normalized = UserName.Normalize(name, nameof(name));
        return await _database.WriteAsync(
            async (connection, transaction) =>
                await connection.ExecuteAsync("DELETE FROM users WHERE name = @name", new { name = normalized }, transaction) > 0,
            cancellationToken);
    }

    public async Task<IReadOnlyList<UserAccount>> ListAsync(CancellationToken cancellationToken)
    {
        var rows = await _database.ReadAsync(connection => connection.QueryAsync<UserRow>(new CommandDefinition(
            _list, cancellationToken: cancellationToken)), cancellationToken);
        return rows.Select(r => new UserAccount(
            r.Name,
            DateTimeOffset.FromUnixTimeMilliseconds(r.CreatedAt),
            DateTimeOffset.FromUnixTimeMilliseconds(r.UpdatedAt))).ToList();
    }

    /// <summary>
    /// False for a wrong password, an unknown or malformed name, or an unreadable stored hash, each after
    /// one PBKDF2 run. True after one PBKDF2 run, or none when the cache has this password against the
    /// hash stored now. Database errors propagate: the caller answers them as a temporary failure (454).
    /// </summary>
    public async Task<bool> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        string? stored = null;
        if (UserName.TryNormalize(name, out var normalized))
        {
            stored = await _database.ReadAsync(connection => connection.QuerySingleOrDefaultAsync<string>(new CommandDefinition(
                "SELECT password_hash FROM users WHERE name = @name", new { name = normalized }, cancellationToken: cancellationToken)), cancellationToken);
        }
        // The connection is closed here; only now the slow part.
        // Exactly one PBKDF2 run on every path that fails (unknown user, empty password, wrong password,
        // a stored hash that does not parse), so the answer time does not tell which names exist. Only the
        // right password can skip it, which tells its sender nothing new.
        var usable = PasswordHasher.IsWellFormed(stored);
        if (usable && !string.IsNullOrEmpty(password) && _verified?.Matches(normalized!, stored!, password) == true) return true;
        var matches = PasswordHasher.Verify(password ?? string.Empty, usable ? stored : DummyHash);
        var ok = matches && usable && !string.IsNullOrEmpty(password);
        if (ok) _verified?.Remember(normalized!, stored!, password!);
        return ok;
    }

    private sealed record UserRow(string Name, long CreatedAt, long UpdatedAt);
}
