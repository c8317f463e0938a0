using Microsoft.Data.Sqlite;

namespace PhiMailGateway.Storage;

/// <summary>
/// Tells a database that cannot write at all (disk full, read-only, locked past its timeout, I/O
/// error) from a failure of one item. The first kind fails every write until an operator or the
/// disk changes something, so the queue pauses instead of failing item after item.
/// </summary>
public static class StorageFailures
{
    // SQLite primary result codes (sqlite3.h).
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Full = 13;
    private const int CantOpen = 14;

    public static bool IsDatabaseUnwritable(Exception exception) =>
        Find(exception) is { SqliteErrorCode: Busy or Locked or ReadOnly or IoError or Full or CantOpen };

    /// <summary>The SQLite result code behind <paramref name="exception"/>, or 0 when it is not a SQLite error.</summary>
    public static int SqliteCode(Exception exception) => Find(exception)?.SqliteErrorCode ?? 0;

    private static SqliteException? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is SqliteException sqlite) return sqlite;
            if (e is AggregateException { InnerExceptions.Count: > 0 } aggregate) return aggregate.InnerExceptions.Select(Find).FirstOrDefault(s => s is not null);
        }
        return null;
    }
}
