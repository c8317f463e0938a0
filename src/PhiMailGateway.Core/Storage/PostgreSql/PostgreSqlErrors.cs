using System.Net.Sockets;
using Npgsql;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// The one place where Npgsql's and PostgreSQL's errors become storage-neutral exceptions. A server
/// that cannot be reached, refuses the login, is shutting down, fails over to a read-only standby or
/// has run out of disk means no write can commit until someone (or the failover) changes that: the
/// queue pauses and SMTP answers 451. A statement the server refuses (a constraint, the audit
/// triggers) fails that operation only.
/// </summary>
internal static class PostgreSqlErrors
{
    public static StorageException Map(NpgsqlException e) => e switch
    {
        PostgresException p => MapServer(p),
        // No server error: the connection could not be made, broke, or timed out.
        { InnerException: TimeoutException } => new StorageUnavailableException("database timed out", e),
        _ when e.IsTransient || e.InnerException is SocketException or IOException => new StorageUnavailableException("database unreachable", e),
        _ => new StorageUnavailableException("database connection failed", e),
    };

    private static StorageException MapServer(PostgresException e) => e.SqlState switch
    {
        PostgresErrorCodes.ReadOnlySqlTransaction => new StorageUnavailableException("database read-only", e),
        PostgresErrorCodes.DiskFull => new StorageUnavailableException("disk full", e),
        PostgresErrorCodes.DataCorrupted or PostgresErrorCodes.IndexCorrupted => new StorageCorruptException("the database reports damaged data", e),
        PostgresErrorCodes.InvalidCatalogName => new StorageUnavailableException("database does not exist", e),
        PostgresErrorCodes.QueryCanceled or PostgresErrorCodes.LockNotAvailable => new StorageUnavailableException("database busy past its timeout", e),
        // Class 08: connection exception; 28: the login was refused; 53: out of disk, memory or connections;
        // 57P: the server is shutting down, restarting or not yet accepting connections.
        _ when e.SqlState.StartsWith("08", StringComparison.Ordinal) => new StorageUnavailableException("database connection failed", e),
        _ when e.SqlState.StartsWith("28", StringComparison.Ordinal) => new StorageUnavailableException("database refused the login", e),
        _ when e.SqlState.StartsWith("53", StringComparison.Ordinal) => new StorageUnavailableException("database out of resources", e),
        _ when e.SqlState.StartsWith("57P", StringComparison.Ordinal) => new StorageUnavailableException("database shutting down", e),
        _ => new StorageException($"database error (PostgreSQL {e.SqlState})", e),
    };

    /// <summary>Runs a database operation and maps any Npgsql error it throws, once.</summary>
    public static async Task<T> MapAsync<T>(Task<T> operation)
    {
        try
        {
            return await operation;
        }
        catch (NpgsqlException e)
        {
            throw Map(e);
        }
    }

    public static async Task MapAsync(Task operation)
    {
        try
        {
            await operation;
        }
        catch (NpgsqlException e)
        {
            throw Map(e);
        }
    }
}
