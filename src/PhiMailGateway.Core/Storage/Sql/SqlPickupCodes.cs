using System.Security.Cryptography;
using Dapper;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// One-time codes in <c>pickup_codes</c>, and the wrong-code count and lock on the package row.
/// Each issue and check locks the package row first (where the database has row locks), so wrong
/// codes tried through several instances add up to one count and lock the package after the same total.
/// </summary>
public sealed class SqlPickupCodes(ISqlDatabase database, MasterKey masterKey, PickupOptions options, TimeProvider time) : IPickupCodes
{
    private readonly string? _lockPackage = database.Dialect.LockRows("pickup_packages", "package_id = @packageId");
    private readonly string _selectPackage = $"SELECT * FROM pickup_packages WHERE package_id = @packageId{database.Dialect.ForUpdate}";

    // Only a keyed hash of each code is stored: a copy of the database does not give the codes.
    private readonly byte[] _codeKey = masterKey.Derive("pickup-code-mac/v1");

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public async Task<string?> IssueCodeAsync(string packageId, CancellationToken cancellationToken)
    {
        var code = PickupSecrets.NewCode();
        var salt = RandomNumberGenerator.GetBytes(16);
        var now = Now;
        var issued = await database.WriteAsync(async (c, t) =>
        {
            // The package row first: instances serving the same link at once count one after the other.
            if (_lockPackage is not null) await c.ExecuteAsync(_lockPackage, new { packageId }, t);
            var recent = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM pickup_codes WHERE package_id = @packageId AND created_at > @since",
                new { packageId, since = now - (long)TimeSpan.FromHours(1).TotalMilliseconds }, t);
            if (recent >= options.MaxCodesPerHour) return false;
            await c.ExecuteAsync("""
                INSERT INTO pickup_codes (code_id, package_id, salt, code_hash, created_at, expires_at)
                VALUES (@codeId, @packageId, @salt, @hash, @now, @expires)
                """, new
            {
                codeId = Convert.ToHexString(RandomNumberGenerator.GetBytes(12)),
                packageId,
                salt,
                hash = PickupSecrets.CodeHash(_codeKey, salt, packageId, code),
                now,
                expires = now + (long)options.CodeLifetime.TotalMilliseconds,
            }, t);
            return true;
        }, cancellationToken);
        return issued ? code : null;
    }

    public async Task<CodeCheckResult> CheckCodeAsync(string packageId, string? code, CancellationToken cancellationToken)
    {
        var now = Now;
        return await database.WriteAsync(async (c, t) =>
        {
            var package = await c.QuerySingleAsync<PickupPackage>(_selectPackage, new { packageId }, t);
            if (package.LockedUntil is { } until && until > now)
                return new CodeCheckResult(CodeCheck.Locked, 0, DateTimeOffset.FromUnixTimeMilliseconds(until));
            var open = await c.QueryAsync<(byte[] Salt, byte[] CodeHash)>(
                "SELECT salt, code_hash FROM pickup_codes WHERE package_id = @packageId AND used_at IS NULL AND expires_at > @now", new { packageId, now }, t);
            var match = false;
            if (code is not null)
            {
                foreach (var (salt, hash) in open)
                    match |= CryptographicOperations.FixedTimeEquals(PickupSecrets.CodeHash(_codeKey, salt, packageId, code), hash);
            }
            if (match)
            {
                await c.ExecuteAsync("UPDATE pickup_codes SET used_at = @now WHERE package_id = @packageId AND used_at IS NULL", new { packageId, now }, t);
                await c.ExecuteAsync("UPDATE pickup_packages SET failed_codes = 0, locked_until = NULL WHERE package_id = @packageId", new { packageId }, t);
                return new CodeCheckResult(CodeCheck.Accepted, options.MaxWrongCodes, null);
            }
            var failed = package.FailedCodes + 1;
            if (failed >= options.MaxWrongCodes)
            {
                var lockedUntil = now + (long)options.Lockout.TotalMilliseconds;
                // The lock also voids the open codes: after it, the recipient asks for a new one.
                await c.ExecuteAsync("UPDATE pickup_codes SET used_at = @now WHERE package_id = @packageId AND used_at IS NULL", new { packageId, now }, t);
                await c.ExecuteAsync("UPDATE pickup_packages SET failed_codes = 0, locked_until = @lockedUntil WHERE package_id = @packageId", new { packageId, lockedUntil }, t);
                return new CodeCheckResult(CodeCheck.Locked, 0, DateTimeOffset.FromUnixTimeMilliseconds(lockedUntil));
            }
            await c.ExecuteAsync("UPDATE pickup_packages SET failed_codes = @failed WHERE package_id = @packageId", new { packageId, failed }, t);
            return new CodeCheckResult(CodeCheck.Wrong, (int)(options.MaxWrongCodes - failed), null);
        }, cancellationToken);
    }
}
