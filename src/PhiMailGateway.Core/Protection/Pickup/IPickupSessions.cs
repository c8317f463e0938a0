namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Sessions of recipients who proved their address with a code, for <see cref="PickupOptions.SessionLifetime"/>.
/// Storage failures come out as <see cref="Storage.StorageException"/>.
/// </summary>
public interface IPickupSessions
{
    /// <summary>A new session for a verified recipient; returns the cookie value (only its hash is stored).</summary>
    Task<string> CreateSessionAsync(string packageId, CancellationToken cancellationToken);

    /// <summary>True when <paramref name="session"/> is a live session of this package; false for anything else, malformed values included.</summary>
    Task<bool> IsSessionValidAsync(string packageId, string? session, CancellationToken cancellationToken);
}
