namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The records of pickup packages: the package row, its files' rows and its label. Everything
/// secret reaches a store already sealed (package key, file names, subject) or hashed (the link
/// token), so a copy of the storage opens nothing without the master key. A package's row stays
/// after its content is purged, as the record that it existed. Storage failures come out as
/// <see cref="Storage.StorageException"/>.
/// </summary>
public interface IPickupPackages
{
    /// <summary>
    /// Records a new Active package with its files and label in one commit: a package is never seen
    /// without its files. Called after the content files are on disk, so a row never points at nothing.
    /// </summary>
    Task CreateAsync(NewPickupPackage package, CancellationToken cancellationToken);

    Task<PickupPackage?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken);

    Task<PickupPackage?> FindAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>Every package, oldest first (for <c>pickup list</c>).</summary>
    Task<IReadOnlyList<PickupPackage>> ListAsync(CancellationToken cancellationToken);

    /// <summary>The package's file rows by index; a purged package's rows have no sealed name.</summary>
    Task<IReadOnlyList<StoredPickupFile>> FilesAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>The stored labels by package id (a purge deletes its package's label).</summary>
    Task<IReadOnlyDictionary<string, SealedPickupLabel>> LabelsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Counts one download of each file in <paramref name="fileIndexes"/> (one file, or all of them
    /// for the zip), if the package is Active, not purged, not expired and not used up, and each of
    /// those files has a download left; false, with nothing counted, when the cap or expiry got there
    /// first or no file was asked for. The package's own count follows its least-downloaded file, so
    /// the package is used up once every file is.
    /// </summary>
    Task<bool> TryCountDownloadAsync(string packageId, IReadOnlyCollection<int> fileIndexes, CancellationToken cancellationToken);

    /// <summary>Marks the package Revoked and ends its web sessions; false when unknown or already revoked.</summary>
    Task<bool> RevokeAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>Marks the Active packages past their expiry as Expired; returns them as they were (for the audit).</summary>
    Task<IReadOnlyList<PickupPackage>> ExpireDueAsync(CancellationToken cancellationToken);

    /// <summary>Ids of the packages whose content may go and has not gone yet: not Active, every download used, or expired.</summary>
    Task<IReadOnlyList<string>> PurgeableAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Forgets what opens the package, in one commit: the wrapped key, the sealed file names, the
    /// label, the one-time codes and the web sessions; the row gets its purge time (the first one
    /// stays). From that commit on the content files are unreadable ciphertext. Returns the package's
    /// file count, null when there is no such package.
    /// </summary>
    Task<int?> PurgeAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>Ids of the packages not purged: their content files are live.</summary>
    Task<IReadOnlySet<string>> UnpurgedIdsAsync(CancellationToken cancellationToken);
}

/// <summary>A package to record: <paramref name="WrappedKey"/> is the package key wrapped under <paramref name="KeyId"/>'s master key.</summary>
public sealed record NewPickupPackage(
    string PackageId,
    string TokenHash,
    string QueueId,
    string Recipient,
    string Sender,
    PickupScope Scope,
    long TotalBytes,
    string KeyId,
    byte[] WrappedKey,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    int MaxDownloads,
    IReadOnlyList<NewPickupFile> Files,
    SealedPickupLabel? Label);

/// <summary>One file of a new package: its name sealed under the package key, its size and plaintext SHA-256 (hex).</summary>
public sealed record NewPickupFile(int Index, byte[] SealedName, string ContentType, long Size, string Sha256);

/// <summary>A file row as stored; <paramref name="SealedName"/> is null once the package is purged.</summary>
public sealed record StoredPickupFile(int Index, byte[]? SealedName, string ContentType, long Size, string Sha256, long DownloadCount);

/// <summary>A package's label as stored: the Message-ID, and the subject sealed (<see cref="PickupLabelCipher"/>).</summary>
public sealed record SealedPickupLabel(string? MessageId, byte[]? SealedSubject);
