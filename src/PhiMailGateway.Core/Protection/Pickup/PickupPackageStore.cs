using System.Security.Cryptography;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Pickup packages as the protector, the page, retention and the CLI see them: it coordinates the
/// records (<see cref="IPickupPackages"/>), the encrypted files (<see cref="PickupBlobFolder"/>,
/// <see cref="PackageFileCipher"/>), the package keys (<see cref="PackageKeyWrap"/>) and the labels
/// (<see cref="PickupLabelCipher"/>). Deleting the wrapped key and the files (retention, revocation)
/// makes the content unrecoverable; the record stays as the proof that it existed.
/// </summary>
public sealed class PickupPackageStore
{
    private readonly IPickupPackages _packages;
    private readonly PackageKeyWrap _keyWrap;
    private readonly PickupLabelCipher _labels;
    private readonly PickupOptions _options;
    private readonly TimeProvider _time;

    public PickupPackageStore(IPickupPackages packages, MasterKey masterKey, GatewayOptions gateway, PickupOptions options, TimeProvider time)
    {
        _packages = packages;
        _keyWrap = new PackageKeyWrap(masterKey);
        _labels = new PickupLabelCipher(masterKey);
        _options = options;
        _time = time;
        Blobs = new PickupBlobFolder(gateway);
    }

    public PickupBlobFolder Blobs { get; }

    /// <summary>
    /// Encrypts <paramref name="files"/> into a new package for one recipient and records it. The
    /// files are written (and flushed) before the record commits, so a record never points at nothing;
    /// a failure on the way deletes the files written so far.
    /// </summary>
    public async Task<CreatedPackage> CreateAsync(string queueId, string recipient, string sender, PickupScope scope,
        IReadOnlyList<PackageSource> files, CancellationToken cancellationToken, PickupLabel? label = null)
    {
        var packageId = PickupSecrets.NewPackageId();
        var token = PickupSecrets.NewToken();
        var key = PackageKeyWrap.NewPackageKey();
        Blobs.EnsureExists();
        var paths = new List<string>();
        var rows = new List<NewPickupFile>();
        long totalBytes = 0;
        try
        {
            for (var i = 0; i < files.Count; i++)
            {
                paths.Add(Blobs.PackageFile(packageId, i));
                (long Length, string Sha256) sealedFile;
                await using (var output = Blobs.CreateFile(packageId, i))
                {
                    sealedFile = await PackageFileCipher.SealAsync(files[i], output, key, packageId, i, cancellationToken);
                    output.Flush(flushToDisk: true);
                }
                totalBytes += sealedFile.Length;
                rows.Add(new NewPickupFile(i, PackageFileCipher.SealName(key, files[i].Name, packageId, i), files[i].ContentType, sealedFile.Length, sealedFile.Sha256));
            }
            await Blobs.FlushNamesAsync();

            var created = _time.GetUtcNow();
            var expires = created + _options.LinkLifetime;
            await _packages.CreateAsync(new NewPickupPackage(packageId, PickupSecrets.Hash(token), queueId, recipient, sender, scope, totalBytes,
                _keyWrap.KeyId, _keyWrap.Wrap(packageId, key), created, expires, _options.MaxDownloads, rows,
                label is null ? null : _labels.Seal(packageId, label)), cancellationToken);
            return new CreatedPackage(packageId, token, expires, files.Count, paths);
        }
        catch
        {
            foreach (var path in paths) PickupBlobFolder.TryDelete(path);
            throw;
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>The package a link token opens; null for anything that is not a live token's.</summary>
    public async Task<PickupPackage?> FindByTokenAsync(string token, CancellationToken cancellationToken)
    {
        if (!PickupSecrets.LooksLikeToken(token)) return null;
        var hash = PickupSecrets.Hash(token);
        var package = await _packages.FindByTokenHashAsync(hash, cancellationToken);
        return package is not null && PickupSecrets.HashEquals(package.TokenHash, hash) ? package : null;
    }

    public Task<PickupPackage?> FindAsync(string packageId, CancellationToken cancellationToken) => _packages.FindAsync(packageId, cancellationToken);

    public Task<IReadOnlyList<PickupPackage>> ListAsync(CancellationToken cancellationToken) => _packages.ListAsync(cancellationToken);

    /// <summary>Labels by package id, subjects opened; a subject sealed under another master key reads as null.</summary>
    public async Task<IReadOnlyDictionary<string, PickupLabel>> LabelsAsync(CancellationToken cancellationToken) =>
        (await _packages.LabelsAsync(cancellationToken)).ToDictionary(l => l.Key, l => _labels.Open(l.Key, l.Value), StringComparer.Ordinal);

    /// <summary>The files with their names opened; empty once the key is gone.</summary>
    public async Task<IReadOnlyList<PickupFile>> FilesAsync(PickupPackage package, CancellationToken cancellationToken)
    {
        var key = _keyWrap.Unwrap(package);
        if (key is null) return [];
        try
        {
            var rows = await _packages.FilesAsync(package.PackageId, cancellationToken);
            // Cleaned again on the way out: packages sealed before PickupFileName stripped bidi
            // controls still hold them, and every page, download and zip entry reads names here.
            return rows.Where(r => r.SealedName is not null).Select(r => new PickupFile(r.Index,
                PickupFileName.Safe(PackageFileCipher.OpenName(key, r.SealedName!, package.PackageId, r.Index), r.Index + 1, ""),
                r.ContentType, r.Size, r.Sha256, r.DownloadCount)).ToList();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>Plaintext of one file, decrypted chunk by chunk as it is read.</summary>
    public Stream OpenFile(PickupPackage package, int index)
    {
        var key = _keyWrap.Unwrap(package) ?? throw new InvalidOperationException("The package's key has been deleted.");
        try
        {
            return PackageFileCipher.OpenRead(Blobs.PackageFile(package.PackageId, index), key, package.PackageId, index);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <inheritdoc cref="IPickupPackages.TryCountDownloadAsync"/>
    public Task<bool> TryCountDownloadAsync(string packageId, IReadOnlyCollection<int> fileIndexes, CancellationToken cancellationToken) =>
        _packages.TryCountDownloadAsync(packageId, fileIndexes, cancellationToken);

    /// <summary>Revokes a package at once: sessions end, content and key are deleted. False when unknown or already revoked.</summary>
    public async Task<bool> RevokeAsync(string packageId, CancellationToken cancellationToken)
    {
        var revoked = await _packages.RevokeAsync(packageId, cancellationToken);
        if (revoked) await PurgeAsync(packageId, cancellationToken);
        return revoked;
    }

    /// <inheritdoc cref="IPickupPackages.ExpireDueAsync"/>
    public Task<IReadOnlyList<PickupPackage>> ExpireDueAsync(CancellationToken cancellationToken) => _packages.ExpireDueAsync(cancellationToken);

    /// <inheritdoc cref="IPickupPackages.PurgeableAsync"/>
    public Task<IReadOnlyList<string>> PurgeableAsync(CancellationToken cancellationToken) => _packages.PurgeableAsync(cancellationToken);

    /// <summary>
    /// Deletes the key first (the content is unreadable from that commit on), then the files. A crash
    /// between the two leaves ciphertext without a key, which the next sweep removes.
    /// </summary>
    public async Task PurgeAsync(string packageId, CancellationToken cancellationToken)
    {
        var fileCount = await _packages.PurgeAsync(packageId, cancellationToken);
        Blobs.DeletePackageFiles(packageId, fileCount);
    }

    /// <summary>Content files whose package is purged (or has no record), older than an hour: left over by a crash.</summary>
    public async Task<int> RemoveOrphansAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(Blobs.Root)) return 0;
        var live = await _packages.UnpurgedIdsAsync(cancellationToken);
        return Blobs.RemoveOrphans(live, _time.GetUtcNow().UtcDateTime - TimeSpan.FromHours(1));
    }
}
