using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace PhiMailGateway.Users;

/// <summary>
/// Remembers, in this process's memory only, that a user's password was just checked against the
/// stored PBKDF2 hash, so the same Outlook logging in again (a new connection per send) does not pay
/// the slow hash each time. An entry is an HMAC, under a key made at start-up and never written out,
/// of the user name, the stored hash and the password: it matches only that password against that
/// stored hash, so a password changed or removed by any process (the CLI, another node) misses at
/// once, and a wrong password always takes the slow path. Entries end after the lifetime; lockouts
/// are decided before the directory is asked and are not affected.
/// </summary>
public sealed class VerifiedPasswordCache
{
    // A practice has tens of users; the bound only keeps a flood of distinct valid logins from
    // growing memory. When full, new entries are not added (the slow path still answers right).
    internal const int MaxEntries = 4096;

    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;
    private long _hits;

    /// <param name="lifetime">How long a verified password is remembered; zero turns the cache off.</param>
    public VerifiedPasswordCache(TimeSpan lifetime, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lifetime, TimeSpan.Zero);
        _lifetime = lifetime;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>How many checks were answered from memory (what the tests observe instead of timing).</summary>
    public long Hits => Interlocked.Read(ref _hits);

    /// <summary>True when this exact password was verified against this exact stored hash within the lifetime.</summary>
    public bool Matches(string user, string storedHash, string password)
    {
        if (_lifetime == TimeSpan.Zero || !_entries.TryGetValue(user, out var entry)) return false;
        if (_time.GetUtcNow() >= entry.ExpiresAt)
        {
            _entries.TryRemove(KeyValuePair.Create(user, entry));
            return false;
        }
        if (!CryptographicOperations.FixedTimeEquals(Mac(user, storedHash, password), entry.Mac)) return false;
        Interlocked.Increment(ref _hits);
        return true;
    }

    /// <summary>Call only after PBKDF2 said this password matches this stored hash.</summary>
    public void Remember(string user, string storedHash, string password)
    {
        if (_lifetime == TimeSpan.Zero) return;
        var now = _time.GetUtcNow();
        if (_entries.Count >= MaxEntries && !_entries.ContainsKey(user))
        {
            foreach (var (name, old) in _entries)
                if (now >= old.ExpiresAt) _entries.TryRemove(KeyValuePair.Create(name, old));
            if (_entries.Count >= MaxEntries) return;
        }
        _entries[user] = new Entry(Mac(user, storedHash, password), now + _lifetime);
    }

    private byte[] Mac(string user, string storedHash, string password)
    {
        // Each field is preceded by its length, so no choice of the three can be read as another.
        var input = new byte[12 + Encoding.UTF8.GetByteCount(user) + Encoding.UTF8.GetByteCount(storedHash) + Encoding.UTF8.GetByteCount(password)];
        try
        {
            var at = 0;
            foreach (var field in (ReadOnlySpan<string>)[user, storedHash, password])
            {
                var length = Encoding.UTF8.GetBytes(field, input.AsSpan(at + 4));
                BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(at), length);
                at += 4 + length;
            }
            return HMACSHA256.HashData(_key, input);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(input);
        }
    }

    private sealed record Entry(byte[] Mac, DateTimeOffset ExpiresAt);
}
