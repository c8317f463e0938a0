using System.Data;
using System.Data.Common;
using System.Globalization;
using Dapper;
using Npgsql;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage.Sql;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// One PostgreSQL database shared by every gateway instance (<c>Storage:Provider=PostgreSql</c>).
/// Unlike SQLite there is no single writer to batch for: PostgreSQL runs concurrent transactions
/// itself, so each write is its own READ COMMITTED transaction, and what must not interleave across
/// instances (schema migrations, audit chain appends, queue claims) takes an advisory lock or a row
/// lock. The stores are shared with SQLite (<c>Storage/Sql</c>) and reach this through
/// <see cref="ISqlDatabase"/>; connections never leave the storage folder, and Npgsql's errors are
/// mapped here (<see cref="PostgreSqlErrors"/>), so stores hand out rows and storage-neutral exceptions only.
/// </summary>
public sealed class PostgreSqlGatewayStorage : IGatewayStorage, ISqlDatabase, IAsyncDisposable, IDisposable
{
    /// <summary>
    /// Advisory lock keys of this database (one 64-bit number space per database, shared with any
    /// other application on it, so the keys are spelled out rather than hashed from names).
    /// </summary>
    internal const long MigrationLock = 0x5048_494D_0001; // "PHIM" 1
    internal const long AuditChainLock = 0x5048_494D_0002;

    static PostgreSqlGatewayStorage()
    {
        // Columns are snake_case, row classes PascalCase.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private readonly NpgsqlDataSource _dataSource;
    private int _migrated;

    public PostgreSqlGatewayStorage(StorageOptions options)
        : this(options.ConnectionString ?? throw new ArgumentException("Storage:ConnectionString is required for PostgreSql.", nameof(options)))
    {
    }

    public PostgreSqlGatewayStorage(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // Never the password: this goes into operators' error messages.
        Location = string.Create(CultureInfo.InvariantCulture, $"PostgreSQL database {builder.Database} on {builder.Host}:{builder.Port}");
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    public string Location { get; }

    /// <summary>Runs <paramref name="work"/> in one transaction and returns once it is committed; errors come out storage-neutral.</summary>
    internal Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        PostgreSqlErrors.MapAsync(WriteUnmappedAsync(work, cancellationToken));

    internal Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, cancellationToken);

    /// <summary>Runs a read on a pooled connection; errors come out storage-neutral.</summary>
    internal Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) =>
        PostgreSqlErrors.MapAsync(ReadUnmappedAsync(read, cancellationToken));

    private async Task<T> ReadUnmappedAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await read(connection);
    }

    /// <summary>A REPEATABLE READ transaction: every read sees the snapshot of its first statement.</summary>
    internal Task<T> ReadSnapshotAsync<T>(Func<DbConnection, DbTransaction, Task<T>> read, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);
            return await read(connection, transaction);
        }, cancellationToken);

    SqlDialect ISqlDatabase.Dialect => SqlDialect.PostgreSql;

    Task<T> ISqlDatabase.WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) => WriteAsync(work, cancellationToken);

    Task ISqlDatabase.WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) => WriteAsync(work, cancellationToken);

    Task<T> ISqlDatabase.ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) => ReadAsync(read, cancellationToken);

    Task<T> ISqlDatabase.ReadSnapshotAsync<T>(Func<DbConnection, DbTransaction, Task<T>> read, CancellationToken cancellationToken) =>
        ReadSnapshotAsync(read, cancellationToken);

    private async Task<T> WriteUnmappedAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        var result = await work(connection, transaction);
        // Not cancellable: once the work ran, the caller must learn whether it committed.
        await transaction.CommitAsync(CancellationToken.None);
        return result;
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _migrated) == 0) await MigrateUnmappedAsync(cancellationToken);
        return await _dataSource.OpenConnectionAsync(cancellationToken);
    }

    public Task ProbeWriteAsync(CancellationToken cancellationToken) =>
        WriteAsync((c, t) => c.ExecuteAsync("UPDATE storage_probe SET probed_at = @now WHERE id = 1",
            new { now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, t), cancellationToken);

    public Task ProbeReadAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => c.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM storage_probe", cancellationToken: cancellationToken)), cancellationToken);

    /// <summary>
    /// Applies the numbered scripts in <c>Storage/PostgreSql/Migrations</c> not yet applied. Several
    /// instances may start at once: each waits for the migration lock, and whoever gets it first
    /// applies what is missing; the others then find nothing left to do. Each script commits with
    /// its row in <c>schema_version</c>, so a crash leaves no script half-applied.
    /// </summary>
    public Task MigrateAsync(CancellationToken cancellationToken) => PostgreSqlErrors.MapAsync(MigrateUnmappedAsync(cancellationToken));

    private async Task<bool> MigrateUnmappedAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken);
        // Session-level: held across the scripts' own transactions, released below or when the
        // connection ends (a node that dies mid-migration does not keep the others waiting).
        await connection.ExecuteAsync(new CommandDefinition("SELECT pg_advisory_lock(@MigrationLock)", new { MigrationLock }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)");
            var applied = (await connection.QueryAsync<long>("SELECT version FROM schema_version")).ToHashSet();
            foreach (var (version, sql) in Scripts())
            {
                if (applied.Contains(version)) continue;
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(sql, transaction: transaction);
                await connection.ExecuteAsync("INSERT INTO schema_version (version, applied_at) VALUES (@version, @now)",
                    new { version, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, transaction);
                await transaction.CommitAsync(cancellationToken);
            }
        }
        finally
        {
            if (connection.State == ConnectionState.Open)
                await connection.ExecuteAsync("SELECT pg_advisory_unlock(@MigrationLock)", new { MigrationLock });
        }
        Volatile.Write(ref _migrated, 1);
        return true;
    }

    /// <summary>Ends every idle pooled connection, so the next operation opens a new session (tests change session defaults).</summary>
    internal void ClearPool() => _dataSource.Clear();

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public void Dispose() => _dataSource.Dispose();

    private static IEnumerable<(long Version, string Sql)> Scripts()
    {
        var assembly = typeof(PostgreSqlGatewayStorage).Assembly;
        const string prefix = "PhiMailGateway.Storage.PostgreSql.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = name[prefix.Length..];
            var version = long.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (version, reader.ReadToEnd());
        }
    }
}
