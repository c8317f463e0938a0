namespace PhiMailGateway.Storage;

/// <summary>
/// A store could not do what it was asked, for a reason of the storage behind it, not of the item.
/// Stores map their engine's errors to this family once, inside the store, so nothing above a store
/// knows which database it runs on. Callers that keep mail safe (the acceptor's 451, the queue
/// worker's pause, the CLI verbs' clear error) catch these and nothing engine-specific.
/// </summary>
public class StorageException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The storage cannot write at all (disk full, read-only, locked or busy past its timeout, I/O
/// error, cannot open): every write fails until an operator or the disk changes something, so
/// queue work pauses instead of failing item after item.
/// </summary>
/// <param name="reason">A short storage-neutral name of the cause ("disk full", "read-only", ...), safe to log.</param>
public sealed class StorageUnavailableException(string reason, Exception? inner = null)
    : StorageException($"storage unavailable: {reason}", inner)
{
    public string Reason { get; } = reason;
}

/// <summary>The stored data cannot be read as what it should be (a damaged database file): a person has to look.</summary>
public sealed class StorageCorruptException(string message, Exception? inner = null) : StorageException(message, inner);

public static class StorageFailures
{
    /// <summary>The <see cref="StorageUnavailableException"/> behind <paramref name="exception"/>, if any (inner and aggregate exceptions included).</summary>
    public static StorageUnavailableException? Unavailable(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is StorageUnavailableException unavailable) return unavailable;
            if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate)
                return aggregate.InnerExceptions.Select(Unavailable).FirstOrDefault(s => s is not null);
        }
        return null;
    }
}
