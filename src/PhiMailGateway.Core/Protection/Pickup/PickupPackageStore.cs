using System.Security.Cryptography;
using System.Text;
using Dapper;
using PhiMailGateway.Configuration;
using PhiMailGateway.Inspection;
using PhiMailGateway.Storage;

using PhiMailGateway.Storage.Sqlite;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Pickup packages: rows in gateway.db, content in <c>&lt;data&gt;/pickup/&lt;package&gt;-&lt;n&gt;.pkg</c>.
/// Each package has its own random AES-256 key, wrapped (AES-GCM) under a key the master key
/// derives for this purpose only; the row keeps the master key's id so keys can rotate. Every file
/// and folder is owner-only from creation. Deleting the wrapped key and the files (retention,
/// revocation) makes the content unrecoverable; the row stays as the record that it existed.
/// </summary>
public sealed class PickupPackageStore
{
    private const string WrapPurpose = "pickup-key-wrap/v1";
    private readonly GatewayDatabase _database;
    private readonly MasterKey _masterKey;
    private readonly PickupOptions _options;
    private readonly TimeProvider _time;
    private readonly byte[] _wrapKey;
    private readonly byte[] _labelKey;

    public PickupPackageStore(GatewayDatabase database, MasterKey masterKey, GatewayOptions gateway, PickupOptions options, TimeProvider time)
    {
        _database = database;
        _masterKey = masterKey;
        _options = options;
        _time = time;
        _wrapKey = masterKey.Derive(WrapPurpose);
        _labelKey = PickupLabelStore.DeriveKey(masterKey);
        Root = Path.Combine(gateway.FullDataDirectory, "pickup");
        _rootSync = new CoalescingFlush(() => DirectorySync.Flush(Root));
    }

    /// <summary>
    /// Folder that holds the encrypted files, <c>&lt;package&gt;-&lt;n&gt;.pkg</c>, side by side: a folder
    /// per package cost a mkdir, a folder fsync and an rmdir per message, which showed in the benchmark.
    /// </summary>
    public string Root { get; }

    public string PackageFile(string packageId, int index) => Path.Combine(Root, $"{packageId}-{index}.pkg");

    /// <summary>The package's files that exist now (at most <paramref name="fileCount"/>; all of them when null).</summary>
    public IReadOnlyList<string> ExistingFiles(string packageId, int? fileCount = null) =>
        fileCount is { } n
            ? Enumerable.Range(0, n).Select(i => PackageFile(packageId, i)).Where(File.Exists).ToList()
            : Directory.Exists(Root) ? Directory.GetFiles(Root, packageId + "-*.pkg") : [];

    // Packages created together share one fsync of the folder that names their files.
    private readonly CoalescingFlush _rootSync;


    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ------------------------------------------------------------------ create

    /// <summary>
    /// Encrypts <paramref name="files"/> into a new package for one recipient and records it. The
    /// files are written (and flushed) before the row commits, so a row never points at nothing.
    /// </summary>
    public async Task<CreatedPackage> CreateAsync(string queueId, string recipient, string sender, PickupScope scope,
        IReadOnlyList<PackageSource> files, CancellationToken cancellationToken, PickupLabel? label = null)
    {
        var packageId = PickupSecrets.NewPackageId();
        var token = PickupSecrets.NewToken();
        var key = RandomNumberGenerator.GetBytes(PackageCipher.KeySize);
        if (!Directory.Exists(Root)) OwnerOnly.CreateDirectory(Root);
        var paths = new List<string>();
        var rows = new List<object>();
        long totalBytes = 0;
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                var path = PackageFile(packageId, i);
                paths.Add(path);
                (long Length, string Sha256) result;
                await using (var output = OwnerOnly.CreateNew(path))
                {
                    result = await EncryptSourceAsync(files[i], output, key, FileAad(packageId, i), cancellationToken);
                    output.Flush(flushToDisk: true);
                }
                totalBytes += result.Length;
                rows.Add(new
                {
                    packageId,
                    fileIndex = i,
                    sealedName = PackageCipher.SealSmall(key, Encoding.UTF8.GetBytes(files[i].Name), NameAad(packageId, i)),
                    contentType = files[i].ContentType,
                    size = result.Length,
                    sha256 = result.Sha256,
                });
            }
            await _rootSync.FlushAsync();

            var created = _time.GetUtcNow();
            var expires = created + _options.LinkLifetime;
            await _database.WriteAsync(async (c, t) =>
            {
                await c.ExecuteAsync("""
                    INSERT INTO pickup_packages (package_id, token_hash, queue_id, recipient, sender, scope, file_count, total_bytes,
                        key_id, wrapped_key, created_at, expires_at, max_downloads, state)
                    VALUES (@packageId, @tokenHash, @queueId, @recipient, @sender, @scope, @fileCount, @totalBytes,
                        @keyId, @wrappedKey, @createdAt, @expiresAt, @maxDownloads, 'Active')
                    """, new
                {
                    packageId,
                    tokenHash = PickupSecrets.Hash(token),
                    queueId,
                    recipient,
                    sender,
                    scope = scope.ToString(),
                    fileCount = files.Count,
                    totalBytes,
                    keyId = _masterKey.KeyId,
                    wrappedKey = PackageCipher.SealSmall(_wrapKey, key, KeyAad(packageId)),
                    createdAt = created.ToUnixTimeMilliseconds(),
                    expiresAt = expires.ToUnixTimeMilliseconds(),
                    maxDownloads = _options.MaxDownloads,
                }, t);
                await c.ExecuteAsync("""
                    INSERT INTO pickup_files (package_id, file_index, sealed_name, content_type, size, sha256)
                    VALUES (@packageId, @fileIndex, @sealedName, @contentType, @size, @sha256)
                    """, rows, t);
                if (label is not null) await PickupLabelStore.InsertAsync(c, t, _labelKey, packageId, label);
            }, cancellationToken);
            return new CreatedPackage(packageId, token, expires, files.Count, paths);
        }
        catch
        {
            foreach (var path in paths) TryDelete(path);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>
    /// The source writes its plaintext straight into the cipher. The SHA-256 recorded for the file is
    /// the one inspection took of the same decoded bytes when the source brings it (checked against
    /// the length); otherwise it is computed on the way.
    /// </summary>
    private static async Task<(long, string)> EncryptSourceAsync(PackageSource source, Stream output, byte[] key, string aad, CancellationToken cancellationToken)
    {
        var known = source.Inspected;
        long length;
        await using (var sealing = await PackageCipher.OpenWriteAsync(output, key, aad, hashPlaintext: known is null, cancellationToken))
        {
            await source.WriteTo(sealing, cancellationToken);
            await sealing.CompleteAsync(cancellationToken);
            if (known is null) return (sealing.Length, sealing.Sha256!);
            if (sealing.Length == known.Value.Length) return (sealing.Length, known.Value.Sha256);
            length = sealing.Length;
        }
        // Inspection read other bytes than these: never record its hash for them.
        using var sha = SHA256.Create();
        await using (var hashing = new CryptoStream(Stream.Null, sha, CryptoStreamMode.Write))
            await source.WriteTo(hashing, cancellationToken);
        return (length, Convert.ToHexStringLower(sha.Hash!));
    }

    private static string FileAad(string packageId, int index) => $"PhiMailGateway pickup file v1|{packageId}|{index}";
    private static string NameAad(string packageId, int index) => $"PhiMailGateway pickup name v1|{packageId}|{index}";
    private static string KeyAad(string packageId) => $"PhiMailGateway pickup key v1|{packageId}";

    // ------------------------------------------------------------------ read

    public async Task<PickupPackage?> FindByTokenAsync(string token, CancellationToken cancellationToken)
    {
        if (!PickupSecrets.LooksLikeToken(token)) return null;
        var hash = PickupSecrets.Hash(token);
        await using var c = await _database.OpenAsync(cancellationToken);
        var package = await c.QuerySingleOrDefaultAsync<PickupPackage>("SELECT * FROM pickup_packages WHERE token_hash = @hash", new { hash });
        return package is not null && PickupSecrets.HashEquals(package.TokenHash, hash) ? package : null;
    }

    public async Task<PickupPackage?> FindAsync(string packageId, CancellationToken cancellationToken)
    {
        await using var c = await _database.OpenAsync(cancellationToken);
        return await c.QuerySingleOrDefaultAsync<PickupPackage>("SELECT * FROM pickup_packages WHERE package_id = @packageId", new { packageId });
    }

    public async Task<IReadOnlyList<PickupPackage>> ListAsync(CancellationToken cancellationToken)
    {
        await using var c = await _database.OpenAsync(cancellationToken);
        return (await c.QueryAsync<PickupPackage>("SELECT * FROM pickup_packages ORDER BY created_at, package_id")).ToList();
    }

    /// <summary>The files with their names opened; empty once the key is gone.</summary>
    public async Task<IReadOnlyList<PickupFile>> FilesAsync(PickupPackage package, CancellationToken cancellationToken)
    {
        var key = UnwrapKey(package);
        if (key is null) return [];
        try
        {
            await using var c = await _database.OpenAsync(cancellationToken);
            var rows = await c.QueryAsync<(long FileIndex, byte[]? SealedName, string ContentType, long Size, string Sha256, long Downloads)>(
                "SELECT file_index, sealed_name, content_type, size, sha256, download_count FROM pickup_files WHERE package_id = @PackageId ORDER BY file_index", new { package.PackageId });
            // Cleaned again on the way out: packages sealed before PickupFileName stripped bidi
            // controls still hold them, and every page, download and zip entry reads names here.
            return rows.Where(r => r.SealedName is not null).Select(r => new PickupFile((int)r.FileIndex,
                PickupFileName.Safe(Encoding.UTF8.GetString(PackageCipher.OpenSmall(key, r.SealedName, NameAad(package.PackageId, (int)r.FileIndex))),
                    (int)r.FileIndex + 1, ""),
                r.ContentType, r.Size, r.Sha256, r.Downloads)).ToList();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Plaintext of one file, decrypted chunk by chunk as it is read.</summary>
    public Stream OpenFile(PickupPackage package, int index)
    {
        var key = UnwrapKey(package) ?? throw new InvalidOperationException("The package's key has been deleted.");
        try
        {
            return PackageCipher.OpenRead(PackageFile(package.PackageId, index), key, FileAad(package.PackageId, index));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    private byte[]? UnwrapKey(PickupPackage package)
    {
        if (package.WrappedKey is null) return null;
        if (package.KeyId != _masterKey.KeyId)
            throw new CryptographicException($"Package {package.PackageId} was wrapped under master key {package.KeyId}, not the current {_masterKey.KeyId}.");
        return PackageCipher.OpenSmall(_wrapKey, package.WrappedKey, KeyAad(package.PackageId));
    }

    // ------------------------------------------------------------------ downloads

    /// <summary>
    /// Counts one download of each file in <paramref name="fileIndexes"/> (one file, or all of them
    /// for the zip), if the package is still available and each of those files has a download left;
    /// false (and nothing counted) when the cap or expiry got there first. The package's own count
    /// follows its least-downloaded file, so the package is used up once every file is.
    /// </summary>
    public async Task<bool> TryCountDownloadAsync(string packageId, IReadOnlyCollection<int> fileIndexes, CancellationToken cancellationToken) =>
        await _database.WriteAsync(async (c, t) =>
        {
            var available = await c.ExecuteScalarAsync<long>("""
                SELECT COUNT(*) FROM pickup_packages
                WHERE package_id = @packageId AND state = 'Active' AND purged_at IS NULL AND download_count < max_downloads AND expires_at > @now
                """, new { packageId, now = Now }, t);
            if (available != 1 || fileIndexes.Count == 0) return false;
            // Checked before anything is counted: the transaction is shared with other writes of the
            // batch, so a partial count could not be rolled back on its own.
            const string WithDownloadsLeft = """
                package_id = @packageId AND file_index IN @fileIndexes
                AND download_count < (SELECT max_downloads FROM pickup_packages WHERE package_id = @packageId)
                """;
            var left = await c.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM pickup_files WHERE {WithDownloadsLeft}", new { packageId, fileIndexes }, t);
            if (left != fileIndexes.Distinct().Count()) return false;
            await c.ExecuteAsync($"UPDATE pickup_files SET download_count = download_count + 1 WHERE {WithDownloadsLeft}", new { packageId, fileIndexes }, t);
            await c.ExecuteAsync("""
                UPDATE pickup_packages SET download_count = (SELECT MIN(download_count) FROM pickup_files WHERE package_id = @packageId)
                WHERE package_id = @packageId
                """, new { packageId }, t);
            return true;
        }, cancellationToken);

    // ------------------------------------------------------------------ revoke and retention

    /// <summary>Revokes a package at once: sessions end, content and key are deleted. False when unknown or already revoked.</summary>
    public async Task<bool> RevokeAsync(string packageId, CancellationToken cancellationToken)
    {
        var now = Now;
        var revoked = await _database.WriteAsync(async (c, t) =>
        {
            var n = await c.ExecuteAsync("UPDATE pickup_packages SET state = 'Revoked', revoked_at = @now WHERE package_id = @packageId AND state <> 'Revoked'",
                new { packageId, now }, t);
            if (n == 1) await c.ExecuteAsync("DELETE FROM pickup_sessions WHERE package_id = @packageId", new { packageId }, t);
            return n == 1;
        }, cancellationToken);
        if (revoked) await PurgeAsync(packageId, cancellationToken);
        return revoked;
    }

    /// <summary>Marks packages past their expiry as Expired; returns them (for the audit).</summary>
    public async Task<IReadOnlyList<PickupPackage>> ExpireDueAsync(CancellationToken cancellationToken)
    {
        var now = Now;
        return await _database.WriteAsync(async (c, t) =>
        {
            var due = (await c.QueryAsync<PickupPackage>("SELECT * FROM pickup_packages WHERE state = 'Active' AND expires_at <= @now", new { now }, t)).ToList();
            await c.ExecuteAsync("UPDATE pickup_packages SET state = 'Expired' WHERE state = 'Active' AND expires_at <= @now", new { now }, t);
            return (IReadOnlyList<PickupPackage>)due;
        }, cancellationToken);
    }

    /// <summary>Packages whose content may go: expired, revoked, or every download used.</summary>
    public async Task<IReadOnlyList<string>> PurgeableAsync(CancellationToken cancellationToken)
    {
        await using var c = await _database.OpenAsync(cancellationToken);
        return (await c.QueryAsync<string>("""
            SELECT package_id FROM pickup_packages
            WHERE purged_at IS NULL AND (state <> 'Active' OR download_count >= max_downloads OR expires_at <= @now)
            """, new { now = Now })).ToList();
    }

    /// <summary>
    /// Deletes the key first (the content is unreadable from that commit on), then the files. A crash
    /// between the two leaves ciphertext without a key, which the next sweep removes.
    /// </summary>
    public async Task PurgeAsync(string packageId, CancellationToken cancellationToken)
    {
        var now = Now;
        var fileCount = await _database.WriteAsync(async (c, t) =>
        {
            var count = await c.ExecuteScalarAsync<long?>("SELECT file_count FROM pickup_packages WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("UPDATE pickup_packages SET wrapped_key = NULL, purged_at = COALESCE(purged_at, @now) WHERE package_id = @packageId", new { packageId, now }, t);
            await c.ExecuteAsync("UPDATE pickup_files SET sealed_name = NULL WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_sessions WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_codes WHERE package_id = @packageId", new { packageId }, t);
            await c.ExecuteAsync("DELETE FROM pickup_labels WHERE package_id = @packageId", new { packageId }, t);
            return count;
        }, cancellationToken);
        foreach (var path in ExistingFiles(packageId, (int?)fileCount)) TryDelete(path);
    }

    /// <summary>Content files whose package row says purged (or that have no row): left over by a crash.</summary>
    public async Task<int> RemoveOrphansAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Root)) return 0;
        await using var c = await _database.OpenAsync(cancellationToken);
        var live = (await c.QueryAsync<string>("SELECT package_id FROM pickup_packages WHERE purged_at IS NULL")).ToHashSet(StringComparer.Ordinal);
        var cutoff = _time.GetUtcNow().UtcDateTime - TimeSpan.FromHours(1);
        var removed = 0;
        foreach (var file in Directory.GetFiles(Root, "*.pkg"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var dash = name.LastIndexOf('-');
            var packageId = dash > 0 ? name[..dash] : name;
            // A file being written right now has no row yet: only old ones are orphans.
            if (live.Contains(packageId) || File.GetLastWriteTimeUtc(file) > cutoff) continue;
            TryDelete(file);
            removed++;
        }
        return removed;
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
