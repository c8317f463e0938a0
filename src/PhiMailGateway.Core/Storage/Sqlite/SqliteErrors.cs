using Microsoft.Data.Sqlite;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// The one place where SQLite's result codes become storage-neutral exceptions: a database that
/// cannot write at all, a damaged file, or any other storage failure of one operation.
/// </summary>
internal static class SqliteErrors
{
    // SQLite primary result codes (sqlite3.h).
    private const int Busy = 5;
    private const int Locked = 6;
    private const int ReadOnly = 8;
    private const int IoError = 10;
    private const int Corrupt = 11;
    private const int Full = 13;
    private const int CantOpen = 14;
    private const int NotADatabase = 26;

    public static StorageException Map(SqliteException e) => e.SqliteErrorCode switch
    {
        Busy or Locked => new StorageUnavailableException("database locked past its timeout", e),
        ReadOnly => new StorageUnavailableException("database read-only", e),
        IoError => new StorageUnavailableException("database I/O error", e),
        Full => new StorageUnavailableException("disk full", e),
        CantOpen => new StorageUnavailableException("database cannot be opened", e),
        Corrupt or NotADatabase => new StorageCorruptException("the database file is damaged", e),
        _ => new StorageException($"database error (SQLite code {e.SqliteErrorCode})", e),
    };

    /// <summary>Runs a database operation and maps any SQLite error it throws, once.</summary>
    public static async Task<T> MapAsync<T>(Task<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (SqliteException e)
        {
            throw Map(e);
        }
    }
}
