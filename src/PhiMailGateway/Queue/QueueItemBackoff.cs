using System.Collections.Concurrent;

namespace PhiMailGateway.Queue;

/// <summary>
/// In-memory not-before times for queue items whose failure the database could not record (the
/// failure was the database itself, or it could not write the new due time). This is all that
/// keeps the worker from starting such an item again at once (invariant 7). Once the row carries
/// the wait, the entry goes: the row is the truth, and `queue retry` must still work.
/// </summary>
public sealed class QueueItemBackoff(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    private sealed record Entry(DateTimeOffset NotBefore, int UnrecordedFailures);

    // ConcurrentDictionary.Count takes every lock; the worker asks on each fetch.
    public int Count => _entries.IsEmpty ? 0 : _entries.Count;

    /// <summary>True while <paramref name="key"/> must wait.</summary>
    public bool IsHeldBack(string key) =>
        !_entries.IsEmpty && _entries.TryGetValue(key, out var entry) && time.GetUtcNow() < entry.NotBefore;

    /// <summary>Failures of <paramref name="key"/> its queue row does not count yet (its attempts column).</summary>
    public int UnrecordedFailures(string key) =>
        !_entries.IsEmpty && _entries.TryGetValue(key, out var entry) ? entry.UnrecordedFailures : 0;

    /// <summary>One more failure the row does not know of: the item waits until <paramref name="notBefore"/>.</summary>
    public void HoldBack(string key, DateTimeOffset notBefore)
    {
        _entries.AddOrUpdate(key,
            _ => new Entry(notBefore, 1),
            (_, old) => new Entry(notBefore, old.UnrecordedFailures + 1));
        // An item that is never fetched again (its row settled by other means) is never cleared:
        // sweep the expired entries now and then.
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

    /// <summary>The item finished, or its row now carries the wait: nothing to hold back here.</summary>
    public void Clear(string key)
    {
        if (!_entries.IsEmpty) _entries.TryRemove(key, out _);
    }
}
