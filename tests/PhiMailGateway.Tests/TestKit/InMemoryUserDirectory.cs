using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>A user directory for tests; <see cref="TestGateway"/> registers it only when the host has no real one.</summary>
public sealed class InMemoryUserDirectory : IUserDirectory
{
    private readonly ConcurrentDictionary<string, (byte[] Hash, UserAccount Account)> _users = new(StringComparer.OrdinalIgnoreCase);

    public Task<bool> AddOrUpdateAsync(string name, string password, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        var isNew = !_users.ContainsKey(name);
        _users[name] = (Hash(password), new UserAccount(name, now, now));
        return Task.FromResult(isNew);
    }

    public Task<bool> RemoveAsync(string name, CancellationToken cancellationToken) =>
        Task.FromResult(_users.TryRemove(name, out _));

    public Task<IReadOnlyList<UserAccount>> ListAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<UserAccount>>(_users.Values.Select(v => v.Account).OrderBy(a => a.Name, StringComparer.Ordinal).ToList());

    public Task<bool> VerifyAsync(string name, string password, CancellationToken cancellationToken)
    {
        var expected = _users.TryGetValue(name, out var entry) ? entry.Hash : new byte[32];
        return Task.FromResult(CryptographicOperations.FixedTimeEquals(expected, Hash(password)) && entry.Hash is not null);
    }

    private static byte[] Hash(string password) => SHA256.HashData(Encoding.UTF8.GetBytes(password));
}
