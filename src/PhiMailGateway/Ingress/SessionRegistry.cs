using System.Net;

namespace PhiMailGateway.Ingress;

/// <summary>What the registry decided for a new connection.</summary>
internal enum Admission
{
    Admitted,
    TooManyFromAddress,
    Full,
}

/// <summary>
/// The open sessions, so that strangers cannot stop the office (invariant 8). A session that has not
/// authenticated and is not from a trusted network counts against Smtp:MaxSessionsPerAddress for its
/// address. At Smtp:MaxSessions a new connection is still admitted: the longest-idle such session is
/// evicted (it hears 421) to make room. Only when every open session is authenticated or trusted is
/// the new one turned away, with 421 rather than silence. Eviction and the counts happen under one
/// lock; connections are rare next to commands, and the scan is over at most Smtp:MaxSessions entries.
/// </summary>
internal sealed class SessionRegistry(int maxSessions, int maxPerAddress)
{
    private readonly Lock _lock = new();
    private readonly HashSet<Entry> _open = [];
    private readonly Dictionary<IPAddress, int> _strangersPerAddress = [];

    internal int Count
    {
        get { lock (_lock) return _open.Count; }
    }

    public Admission TryAdmit(SessionFacts facts, IdleTimer timer, out Entry entry)
    {
        entry = new Entry(facts, timer);
        lock (_lock)
        {
            if (!facts.IsKnown && _strangersPerAddress.GetValueOrDefault(facts.ClientAddress) >= maxPerAddress)
                return Admission.TooManyFromAddress;
            if (_open.Count >= maxSessions)
            {
                Entry? idlest = null;
                foreach (var candidate in _open)
                {
                    if (candidate.Counted && (idlest is null || candidate.LastActivity < idlest.LastActivity)) idlest = candidate;
                }
                if (idlest is null) return Admission.Full;
                RemoveLocked(idlest);
                idlest.Timer.Evict();
            }
            _open.Add(entry);
            if (!facts.IsKnown)
            {
                entry.Counted = true;
                _strangersPerAddress[facts.ClientAddress] = _strangersPerAddress.GetValueOrDefault(facts.ClientAddress) + 1;
            }
            return Admission.Admitted;
        }
    }

    /// <summary>After AUTH succeeded: no longer a stranger, so no longer counted or evictable.</summary>
    public void Authenticated(Entry entry)
    {
        lock (_lock)
        {
            if (!entry.Counted) return;
            entry.Counted = false;
            Uncount(entry.Facts.ClientAddress);
        }
    }

    public void Remove(Entry entry)
    {
        lock (_lock) RemoveLocked(entry);
    }

    private void RemoveLocked(Entry entry)
    {
        if (!_open.Remove(entry)) return;
        if (entry.Counted)
        {
            entry.Counted = false;
            Uncount(entry.Facts.ClientAddress);
        }
    }

    private void Uncount(IPAddress address)
    {
        var left = _strangersPerAddress.GetValueOrDefault(address) - 1;
        if (left <= 0) _strangersPerAddress.Remove(address);
        else _strangersPerAddress[address] = left;
    }

    /// <summary>One open session. <see cref="Touch"/> after each command marks it as not idle.</summary>
    internal sealed class Entry(SessionFacts facts, IdleTimer timer)
    {
        private long _lastActivity = Environment.TickCount64;

        public SessionFacts Facts { get; } = facts;
        public IdleTimer Timer { get; } = timer;

        /// <summary>Not authenticated and not trusted: counted per address and evictable. Guarded by the registry's lock.</summary>
        public bool Counted { get; set; }

        public long LastActivity => Volatile.Read(ref _lastActivity);

        public void Touch() => Volatile.Write(ref _lastActivity, Environment.TickCount64);
    }
}
