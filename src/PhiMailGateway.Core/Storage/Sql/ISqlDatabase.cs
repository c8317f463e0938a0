using System.Data.Common;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The one seam the shared store bodies in this folder run on: SQLite's <see cref="Sqlite.GatewayDatabase"/>
/// and <see cref="PostgreSql.PostgreSqlGatewayStorage"/> implement it. Each runs the work its own
/// way (SQLite: one writer, BEGIN IMMEDIATE, group commit; PostgreSQL: a READ COMMITTED transaction
/// per write) and maps its engine's errors to <see cref="StorageException"/> once, so a store body
/// is plain SQL through Dapper plus the few phrases of <see cref="Dialect"/>. The members are
/// internal: connections never leave the storage folder.
/// </summary>
public interface ISqlDatabase
{
    /// <summary>What the SQL of the two databases spells differently.</summary>
    internal SqlDialect Dialect { get; }

    /// <summary>Runs <paramref name="work"/> in one write transaction and returns once it is committed.</summary>
    internal Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken);

    internal Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken);

    /// <summary>Runs a read on a pooled connection, outside any transaction.</summary>
    internal Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken);

    /// <summary>
    /// Runs several reads that must see one state of the database (the whole audit chain), in a
    /// read-only snapshot: rows another writer commits meanwhile appear in none of the reads.
    /// </summary>
    internal Task<T> ReadSnapshotAsync<T>(Func<DbConnection, DbTransaction, Task<T>> read, CancellationToken cancellationToken);
}
