using Dapper;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// Pickup packages in <c>pickup_packages</c>, <c>pickup_files</c> and <c>pickup_labels</c>, shared
/// by every instance. Download counts lock the package row, so the cap holds across instances.
/// </summary>
public sealed class PostgreSqlPickupPackages(PostgreSqlGatewayStorage database, TimeProvider time) : IPickupPackages
{
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
            await c.ExecuteAsync("SELECT 1 FROM pickup_packages WHERE package_id = @packageId FOR UPDATE", new { packageId }, t);
            var available = await c.ExecuteScalarAsync<long>("""
                SELECT COUNT(*) FROM pickup_packages
                WHERE package_id = @packageId AND state = 'Active' AND purged_at IS NULL AND download_count < max_downloads AND expires_at > @now
                """, new { packageId, now }, t);
            if (available != 1 || fileIndexes.Count == 0) return false;
            // Checked before anything is counted, as the SQLite store does.
            const string WithDownloadsLeft = """
                package_id = @packageId AND file_index = ANY(@indexes)
                AND download_count < (SELECT max_downloads FROM pickup_packages WHERE package_id = @packageId)
                """;
            var left = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM pickup_files WHERE {WithDownloadsLeft}", new { packageId, indexes }, t);
            if (left != indexes.Length) return false;
            await c.ExecuteAsync($"UPDATE pickup_files SET download_count = download_count + 1 WHERE {WithDownloadsLeft}", new { packageId, indexes }, t);
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
            // Locked and changed by id: each package expires through one instance only, which
            // alone records it. Rows another instance is expiring now are skipped, not waited for.
            var due = (await c.QueryAsync<PickupPackage>(
                "SELECT * FROM pickup_packages WHERE state = 'Active' AND expires_at <= @now ORDER BY package_id FOR UPDATE SKIP LOCKED", new { now }, t)).ToList();
            await c.ExecuteAsync("UPDATE pickup_packages SET state = 'Expired' WHERE package_id = ANY(@ids)", new { ids = due.Select(p => p.PackageId).ToArray() }, t);
            return (IReadOnlyList<PickupPackage>)due;
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
