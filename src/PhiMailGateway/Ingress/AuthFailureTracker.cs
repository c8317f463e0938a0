using PhiMailGateway.Configuration;

namespace PhiMailGateway.Ingress;

/// <summary>
/// Counts failed AUTH attempts per key (a client address with a user name, a user name, a client
/// address), each against its own ceiling. After that many failures within Smtp:AuthLockout the key
/// is locked out for Smtp:AuthLockout. Memory is bounded:
/// past <see cref="MaxEntries"/> keys, stale entries go first, then the least recently seen.
/// One lock guards everything; AUTH is rare enough that contention does not matter.
/// </summary>
public sealed class AuthFailureTracker(SmtpOptions smtp, TimeProvider time)
{
    public const int MaxEntries = 4096;

    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public bool IsLockedOut(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var e) && e.LockedUntil > time.GetUtcNow();
        }
    }

    /// <summary>When the key's lockout ends, or null when it is not locked out.</summary>
    public DateTimeOffset? LockedUntil(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var e) && e.LockedUntil > time.GetUtcNow() ? e.LockedUntil : null;
        }
    }

    /// <summary>Records a failure against Smtp:MaxAuthFailures; returns true when this failure started a lockout.</summary>
    public bool RecordFailure(string key) => RecordFailure(key, smtp.MaxAuthFailures).StartedLockout;

    /// <summary>Records a failure against its own ceiling: how many are left and whether this one started a lockout.</summary>
    public FailureCount RecordFailure(string key, int maxFailures)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var e))
            {
                if (_entries.Count >= MaxEntries) Evict(now);
                e = new Entry { WindowStart = now };
                _entries[key] = e;
            }
            if (now - e.WindowStart > smtp.AuthLockout && e.LockedUntil <= now)
            {
                e.WindowStart = now;
                e.Failures = 0;
            }
            e.LastSeen = now;
            e.Failures++;
            var started = false;
            if (e.Failures >= maxFailures && e.LockedUntil <= now)
            {
                e.LockedUntil = now + smtp.AuthLockout;
                e.UnlockGeneration = Untagged;
                started = true;
            }
            return new FailureCount(Math.Max(0, maxFailures - e.Failures), e.LockedUntil > now ? e.LockedUntil : null, started);
        }
    }

    /// <summary>
    /// Tags the key's running lockout with the unlock generation its record was written under, so a
    /// later <c>users unlock</c> (a higher generation) can be recognised. Untagged lockouts (their
    /// record failed) only expire.
    /// </summary>
    public void TagLockout(string key, long unlockGeneration)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var e) && e.LockedUntil > time.GetUtcNow()) e.UnlockGeneration = unlockGeneration;
        }
    }

    /// <summary>The unlock generation of the key's running lockout; null when not locked or not (yet) tagged.</summary>
    public long? LockoutGeneration(string key)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(key, out var e) && e.LockedUntil > time.GetUtcNow() && e.UnlockGeneration != Untagged ? e.UnlockGeneration : null;
        }
    }

    /// <summary>
    /// A lockout recorded before a restart, still running: held again until it ends, tagged with the
    /// unlock generation current now (`users unlock` deletes the records it clears, so a record still
    /// there has not been unlocked).
    /// </summary>
    public void RestoreLockout(string key, DateTimeOffset lockedUntil, long unlockGeneration)
    {
        var now = time.GetUtcNow();
        if (lockedUntil <= now) return;
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var e))
            {
                if (_entries.Count >= MaxEntries) Evict(now);
                e = new Entry { WindowStart = now };
                _entries[key] = e;
            }
            e.LastSeen = now;
            if (lockedUntil > e.LockedUntil)
            {
                e.LockedUntil = lockedUntil;
                e.UnlockGeneration = unlockGeneration;
            }
        }
    }

    public void Reset(string key)
    {
        lock (_lock) _entries.Remove(key);
    }

    internal int Count
    {
        get { lock (_lock) return _entries.Count; }
    }

    private void Evict(DateTimeOffset now)
    {
        foreach (var (key, e) in _entries.ToArray())
        {
            if (e.LockedUntil <= now && now - e.LastSeen > smtp.AuthLockout) _entries.Remove(key);
        }
        while (_entries.Count >= MaxEntries)
        {
            var oldest = _entries.MinBy(kv => kv.Value.LastSeen).Key;
            _entries.Remove(oldest);
        }
    }

    private sealed class Entry
    {
        public int Failures;
        public DateTimeOffset WindowStart;
        public DateTimeOffset LastSeen;
        public DateTimeOffset LockedUntil = DateTimeOffset.MinValue;
        public long UnlockGeneration = Untagged;
    }

    // Until its record is written a fresh lockout cannot be matched to an unlock: never cleared early.
    private const long Untagged = long.MaxValue;
}

/// <summary>After a failure: attempts left before the lockout, when a lockout ends, and whether this failure started it.</summary>
public readonly record struct FailureCount(int Remaining, DateTimeOffset? LockedUntil, bool StartedLockout);
