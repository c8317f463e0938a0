namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The one-time codes that prove a recipient owns the address a package was sent to. Storage
/// failures come out as <see cref="Storage.StorageException"/>.
/// </summary>
public interface IPickupCodes
{
    /// <summary>A new six-digit code for the package, or null when it asked for too many this hour (<see cref="PickupOptions.MaxCodesPerHour"/>).</summary>
    Task<string?> IssueCodeAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>
    /// Checks a code: any unused, unexpired code of the package matches (a resend does not void the
    /// earlier mail). A match uses up every open code; a miss counts, and the
    /// <see cref="PickupOptions.MaxWrongCodes"/>th miss locks the package for <see cref="PickupOptions.Lockout"/>
    /// and voids its open codes.
    /// </summary>
    Task<CodeCheckResult> CheckCodeAsync(string packageId, string? code, CancellationToken cancellationToken);
}
