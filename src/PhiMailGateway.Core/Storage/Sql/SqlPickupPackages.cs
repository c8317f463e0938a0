using Dapper;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// Pickup packages in <c>pickup_packages</c>, <c>pickup_files</c> and <c>pickup_labels</c>. Download
/// counts lock the package row first (where the database has row locks), so the cap holds across
/// instances sharing one database.
/// </summary>
public sealed class SqlPickupPackages(ISqlDatabase database, TimeProvider time) : IPickupPackages
{
    private readonly string? _lockPackage = database.Dialect.LockRows("pickup_packages", "package_id = @packageId");

    private const string WithDownloadsLeft = "download_count < (SELECT max_downloads FROM pickup_packages WHERE package_id = @packageId)";

    private readonly string _countFilesLeft =
        $"SELECT COUNT(*) FROM pickup_files WHERE package_id = @packageId AND {database.Dialect.In("file_index", "@indexes")} AND {WithDownloadsLeft}";

    private readonly string _countDownloads =
        $"UPDATE pickup_files SET download_count = download_count + 1 WHERE package_id = @packageId AND {database.Dialect.In("file_index", "@indexes")} AND {WithDownloadsLeft}";

    // Each package expires through one instance only, which alone records it: rows another instance
    // is expiring now are skipped, not waited for.
    private readonly string _expireDue = $"""
        UPDATE pickup_packages SET state = 'Expired'
        WHERE package_id IN (SELECT package_id FROM pickup_packages WHERE state = 'Active' AND expires_at <= @now{database.Dialect.ForUpdateSkipLocked})
        RETURNING *
        """;

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    public Task CreateAsync(NewPickupPackage package, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync("""
                INSERT INTO pickup_packages (package_id, token_hash, queue_id, recipient, sender, scope, file_count, total_bytes,
                    key_id, wrapped_key, created_at, expires_at, max_downloads, state)
                VALUES (@PackageId, @TokenHash, @QueueId, @Recipient, @Sender, @scope, @fileCount, @TotalBytes,
                    @KeyId, @WrappedKey, @createdAt, @expiresAt, @MaxDownloads, 'Active')
                """, new
            {
                package.PackageId,
                package.TokenHash,
                package.QueueId,
                package.Recipient,
                package.Sender,
                scope = package.Scope.ToString(),
                fileCount = package.Files.Count,
                package.TotalBytes,
                package.KeyId,
                package.WrappedKey,
                createdAt = package.CreatedAt.ToUnixTimeMilliseconds(),
                expiresAt = package.ExpiresAt.ToUnixTimeMilliseconds(),
                package.MaxDownloads,
            }, t);
            await c.ExecuteAsync("""
                INSERT INTO pickup_files (package_id, file_index, sealed_name, content_type, size, sha256)
                VALUES (@packageId, @Index, @SealedName, @ContentType, @Size, @Sha256)
                """, package.Files.Select(f => new { packageId = package.PackageId, f.Index, f.SealedName, f.ContentType, f.Size, f.Sha256 }), t);
            // In the package's own transaction: no extra commit per package.
            if (package.Label is { } label)
            {
                await c.ExecuteAsync(
                    "INSERT INTO pickup_labels (package_id, message_id, sealed_subject) VALUES (@packageId, @MessageId, @SealedSubject)",
                    new { packageId = package.PackageId, label.MessageId, label.SealedSubject }, t);
            }
        }, cancellationToken);

    public Task<PickupPackage?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.QuerySingleOrDefaultAsync<PickupPackage>(new CommandDefinition(
            "SELECT * FROM pickup_packages WHERE token_hash = @tokenHash", new { tokenHash }, cancellationToken: cancellationToken)), cancellationToken);

    public Task<PickupPackage?> FindAsync(string packageId, CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.QuerySingleOrDefaultAsync<PickupPackage>(new CommandDefinition(
            "SELECT * FROM pickup_packages WHERE package_id = @packageId", new { packageId }, cancellationToken: cancellationToken)), cancellationToken);

    public Task<IReadOnlyList<PickupPackage>> ListAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<PickupPackage>)(await c.QueryAsync<PickupPackage>(new CommandDefinition(
            "SELECT * FROM pickup_packages ORDER BY created_at, package_id", cancellationToken: cancellationToken))).ToList(), cancellationToken);

    public Task<IReadOnlyList<StoredPickupFile>> FilesAsync(string packageId, CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<(long FileIndex, byte[]? SealedName, string ContentType, long Size, string Sha256, long Downloads)>(new CommandDefinition(
                "SELECT file_index, sealed_name, content_type, size, sha256, download_count FROM pickup_files WHERE package_id = @packageId ORDER BY file_index",
                new { packageId }, cancellationToken: cancellationToken));
            return (IReadOnlyList<StoredPickupFile>)rows.Select(r => new StoredPickupFile((int)r.FileIndex, r.SealedName, r.ContentType, r.Size, r.Sha256, r.Downloads)).ToList();
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, SealedPickupLabel>> LabelsAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<(string PackageId, string? MessageId, byte[]? SealedSubject)>(new CommandDefinition(
                "SELECT package_id, message_id, sealed_subject FROM pickup_labels", cancellationToken: cancellationToken));
            return (IReadOnlyDictionary<string, SealedPickupLabel>)rows.ToDictionary(r => r.PackageId, r => new SealedPickupLabel(r.MessageId, r.SealedSubject), StringComparer.Ordinal);
        }, cancellationToken);

    public Task<bool> TryCountDownloadAsync(string packageId, IReadOnlyCollection<int> fileIndexes, CancellationToken cancellationToken)
    {
        var now = Now;
        var indexes = fileIndexes.Select(i => (long)i).Distinct().ToArray();
        return database.WriteAsync(async (c, t) =>
        {
            // The package row first: instances serving the same link at once count one after the other.
            if (_lockPackage is not null) await c.ExecuteAsync(_lockPackage, new { packageId }, t);
            var available = await c.ExecuteScalarAsync<long>("""
                SELECT COUNT(*) FROM pickup_packages
                WHERE package_id = @packageId AND state = 'Active' AND purged_at IS NULL AND download_count < max_downloads AND expires_at > @now
                """, new { packageId, now }, t);
            if (available != 1 || fileIndexes.Count == 0) return false;
            // Checked before anything is counted: SQLite shares the transaction with other writes of
            // the batch, so a partial count could not be rolled back on its own.
            var left = await c.ExecuteScalarAsync<long>(_countFilesLeft, new { packageId, indexes }, t);
            if (left != indexes.Length) return false;
            await c.ExecuteAsync(_countDownloads, new { packageId, indexes }, t);
            await c.ExecuteAsync("""
                UPDATE pickup_packages SET download_count = (SELECT MIN(download_count) FROM pickup_files WHERE package_id = @packageId)
                WHERE package_id = @packageId
                """, new { packageId }, t);
            return true;
        }, cancellationToken);
    }

    public Task<bool> RevokeAsync(string packageId, CancellationToken cancellationToken)
    {
        var now = Now;
        return database.WriteAsync(async (c, t) =>
        {
            var n = await c.ExecuteAsync("UPDATE pickup_packages SET state = 'Revoked', revoked_at = @now WHERE package_id = @packageId AND state <> 'Revoked'",
                new { packageId, now }, t);
            if (n == 1) await c.ExecuteAsync("DELETE FROM pickup_sessions WHERE package_id = @packageId", new { packageId }, t);
            return n == 1;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<PickupPackage>> ExpireDueAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        return database.WriteAsync(async (c, t) =>
        {
            var expired = await c.QueryAsync<PickupPackage>(_expireDue, new { now }, t);
            return (IReadOnlyList<PickupPackage>)expired.OrderBy(p => p.PackageId, StringComparer.Ordinal).ToList();
        }, cancellationToken);
    }

    public Task<IReadOnlyList<string>> PurgeableAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        return database.ReadAsync(async c => (IReadOnlyList<string>)(await c.QueryAsync<string>(new CommandDefinition("""
            SELECT package_id FROM pickup_packages
            WHERE purged_at IS NULL AND (state <> 'Active' OR download_count >= max_downloads OR expires_at <= @now)
            """, new { now }, cancellationToken: cancellationToken))).ToList(), cancellationToken);
    }

    public Task<int?> PurgeAsync(string packageId, CancellationToken cancellationToken)
    {
        var now = Now;
        return database.WriteAsync(async (c, t) =>
        {
            var count = await c.ExecuteScalarAsync<long?>("SELECT file_count FROM pickup_packages WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("UPDATE pickup_packages SET wrapped_key = NULL, purged_at = COALESCE(purged_at, @now) WHERE package_id = @packageId", new { packageId, now }, t);
            await c.ExecuteAsync("UPDATE pickup_files SET sealed_name = NULL WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_sessions WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_codes WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_labels WHERE package_id = @packageId", new { packageId }, t);
            return (int?)count;
        }, cancellationToken);
    }

    public Task<IReadOnlySet<string>> UnpurgedIdsAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlySet<string>)(await c.QueryAsync<string>(new CommandDefinition(
            "SELECT package_id FROM pickup_packages WHERE purged_at IS NULL", cancellationToken: cancellationToken))).ToHashSet(StringComparer.Ordinal), cancellationToken);
}
