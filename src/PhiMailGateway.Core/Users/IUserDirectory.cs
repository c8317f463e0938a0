namespace PhiMailGateway.Users;

/// <summary>SMTP AUTH accounts. Passwords are kept only as slow salted hashes.</summary>
public interface IUserDirectory
{
    /// <summary>Adds the user, or replaces the password of an existing one. Returns true when the user is new.</summary>
    Task<bool> AddOrUpdateAsync(string name, string password, CancellationToken cancellationToken);

    /// <summary>Returns true when the user existed.</summary>
    Task<bool> RemoveAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<UserAccount>> ListAsync(CancellationToken cancellationToken);

    /// <summary>Constant-time check of a password; false for unknown users too, in about the same time.</summary>
    Task<bool> VerifyAsync(string name, string password, CancellationToken cancellationToken);
}

public sealed record UserAccount(string Name, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);
