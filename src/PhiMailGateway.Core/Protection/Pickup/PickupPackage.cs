namespace PhiMailGateway.Protection.Pickup;

public static class PackageStates
{
    public const string Active = "Active";
    public const string Revoked = "Revoked";
    public const string Expired = "Expired";
}

/// <summary>Why a package can or cannot be opened now; the page says which.</summary>
public enum PackageAvailability
{
    Available,
    Expired,
    Revoked,
    DownloadsUsed,

    /// <summary>Content deleted for another reason (retention, or never completed).</summary>
    Removed,
}

/// <summary>A package's record as <see cref="IPickupPackages"/> returns it (in SQLite, a row of <c>pickup_packages</c>).</summary>
public sealed class PickupPackage
{
    public string PackageId { get; set; } = "";
    public string TokenHash { get; set; } = "";
    public string QueueId { get; set; } = "";
    public string Recipient { get; set; } = "";
    public string Sender { get; set; } = "";
    public string Scope { get; set; } = "";
    public long FileCount { get; set; }
    public long TotalBytes { get; set; }
    public string KeyId { get; set; } = "";
    public byte[]? WrappedKey { get; set; }
    public long CreatedAt { get; set; }
    public long ExpiresAt { get; set; }
    public long MaxDownloads { get; set; }
    public long DownloadCount { get; set; }
    public string State { get; set; } = PackageStates.Active;
    public long? RevokedAt { get; set; }
    public long? PurgedAt { get; set; }
    public long FailedCodes { get; set; }
    public long? LockedUntil { get; set; }

    public DateTimeOffset Expires => DateTimeOffset.FromUnixTimeMilliseconds(ExpiresAt);

    public PackageAvailability Availability(DateTimeOffset now) => this switch
    {
        { State: PackageStates.Revoked } => PackageAvailability.Revoked,
        { State: PackageStates.Expired } => PackageAvailability.Expired,
        _ when ExpiresAt <= now.ToUnixTimeMilliseconds() => PackageAvailability.Expired,
        _ when DownloadCount >= MaxDownloads => PackageAvailability.DownloadsUsed,
        { PurgedAt: not null } or { WrappedKey: null } => PackageAvailability.Removed,
        _ => PackageAvailability.Available,
    };

    public bool IsLocked(DateTimeOffset now) => LockedUntil is { } until && until > now.ToUnixTimeMilliseconds();
}

/// <summary>One file of a package, with its name opened (only for a verified recipient).</summary>
/// <param name="DownloadCount">Times this file was downloaded (on its own or in the zip of all); <c>Pickup:MaxDownloads</c> caps each file.</param>
public sealed record PickupFile(int Index, string Name, string ContentType, long Size, string Sha256, long DownloadCount = 0)
{
    public long DownloadsLeft(PickupPackage package) => Math.Max(0, package.MaxDownloads - DownloadCount);

    public bool CanPreview => ContentType is "image/jpeg" or "image/png";

    /// <summary>A DICOM file: its preview, if any, is rendered on the server (<see cref="DicomPreview"/>).</summary>
    public bool IsDicom => ContentType == "application/dicom" || Name.EndsWith(".dcm", StringComparison.OrdinalIgnoreCase);
}

/// <summary>Content for a new package file; <paramref name="WriteTo"/> writes the plaintext (streamed, never buffered whole).</summary>
/// <param name="Inspected">Length and SHA-256 that inspection took of these very bytes (the decoded MIME part), so packaging need not hash them again.</param>
public sealed record PackageSource(string Name, string ContentType, Func<Stream, CancellationToken, Task> WriteTo, (long Length, string Sha256)? Inspected = null);

/// <summary>A package just created: its id, the link token (only ever in the mail) and expiry.</summary>
public sealed record CreatedPackage(string PackageId, string Token, DateTimeOffset ExpiresAt, int FileCount, IReadOnlyList<string> BlobPaths);

public enum CodeCheck
{
    Accepted,
    Wrong,
    Locked,
}

public sealed record CodeCheckResult(CodeCheck Outcome, int AttemptsLeft, DateTimeOffset? LockedUntil);
