namespace PhiMailGateway.Users;

/// <summary>
/// The AUTH lockouts the gateway started, kept in storage so that <c>users unlock NAME</c>, run as
/// its own process, can clear them. Only the rare paths touch it (a lockout starting, an attempt
/// against a lockout, the CLI verb): a successful or ordinary failed AUTH never reads it. An unlock
/// is a generation number per user rather than a time, so the gateway and the CLI need not share a
/// clock (and a test's manual clock cannot confuse them).
/// </summary>
public interface IAuthLockouts
{
    /// <summary>Records a lockout that just started; returns the user's unlock generation at that moment.</summary>
    Task<long> RecordAsync(string userName, string scope, string client, DateTimeOffset lockedAt, DateTimeOffset lockedUntil, CancellationToken cancellationToken);

    /// <summary>The user's unlock generation now (0 when never unlocked).</summary>
    Task<long> GenerationAsync(string userName, CancellationToken cancellationToken);

    /// <summary>
    /// Clears the user's lockouts (per address and user, and per user from all addresses): the running
    /// gateway sees the new generation at the next attempt. Returns how many recorded lockouts were
    /// still running. A lockout per client address over all user names is not the user's and stays.
    /// </summary>
    Task<int> UnlockAsync(string userName, CancellationToken cancellationToken);

    /// <summary>The lockouts still running, newest first: for <c>users list</c>.</summary>
    Task<IReadOnlyList<AuthLockout>> ListRunningAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Counts one failed AUTH attempt under <paramref name="key"/> (a client address with a user name,
    /// a user name, a client address) and returns the failures of its window, this one included. A
    /// window starts with the first failure and ends <paramref name="window"/> later; the next failure
    /// after it starts a new one. The count is the storage's, so on a shared database failures tried
    /// through several instances add up to one count, whichever instance each reached.
    /// </summary>
    Task<int> CountFailureAsync(string key, DateTimeOffset now, TimeSpan window, CancellationToken cancellationToken);

    /// <summary>Forgets the failures counted under <paramref name="key"/> (after a successful AUTH, or an unlock).</summary>
    Task ClearFailuresAsync(string key, CancellationToken cancellationToken);
}

/// <summary>What a lockout covers: one client address with one user name, or the user name from every address.</summary>
public static class AuthLockoutScopes
{
    public const string Pair = "pair";
    public const string User = "user";
}

/// <summary>One running lockout: whose, which scope, from which client (empty for the per-user scope), until when.</summary>
public sealed record AuthLockout(string UserName, string Scope, string Client, DateTimeOffset LockedUntil);
