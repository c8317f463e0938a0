using System.Collections.Concurrent;

namespace PhiMailGateway.Processing;

/// <summary>
/// In-memory not-before times for queue items whose work failed. The queue row carries the same
/// time when the database could write it; when it could not (the failure was the database), this
/// is all that keeps the worker from starting the item again at once (invariant 7).
/// </summary>
public sealed class QueueItemBackoff(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed record Entry(DateTimeOffset NotBefore, int UnrecordedFailures);

    // ConcurrentDictionary.Count takes every lock; the worker asks on each fetch.
    public int Count => _entries.IsEmpty ? 0 : _entries.Count;

    /// <summary>True while <paramref name="key"/> must wait; an entry whose time has come is dropped.</summary>
    public bool IsHeldBack(string key)
    {
        if (_entries.IsEmpty || !_entries.TryGetValue(key, out var entry)) return false;
        if (time.GetUtcNow() < entry.NotBefore) return true;
        // Keep the failure count while the database has not recorded any of them: the next wait grows.
        if (entry.UnrecordedFailures == 0) _entries.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        return false;
    }

    /// <summary>Failures of <paramref name="key"/> the queue row does not count yet (its attempts column).</summary>
    public int UnrecordedFailures(string key) => _entries.TryGetValue(key, out var entry) ? entry.UnrecordedFailures : 0;

    /// <param name="recorded">The queue row now carries this time and counts this failure.</param>
    public void HoldBack(string key, DateTimeOffset notBefore, bool recorded)
    {
        _entries.AddOrUpdate(key,
            _ => new Entry(notBefore, recorded ? 0 : 1),
            (_, old) => new Entry(notBefore, recorded ? 0 : old.UnrecordedFailures + 1));
        // An item that failed after its work was committed (say, the audit head note) is never
        // fetched again, so its entry is never looked up: sweep the expired ones now and then.
        if (_entries.Count > SweepAbove)
        {
            var now = time.GetUtcNow();
            foreach (var (k, entry) in _entries)
            {
                if (entry.NotBefore <= now) _entries.TryRemove(new KeyValuePair<string, Entry>(k, entry));
            }
        }
    }

    private const int SweepAbove = 256;

    /// <summary>The item finished: nothing to hold back any more.</summary>
    public void Clear(string key)
    {
        if (!_entries.IsEmpty) _entries.TryRemove(key, out _);
    }
}
