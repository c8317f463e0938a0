using System.Data;
using System.Reflection;
using Dapper;
using Microsoft.Data.Sqlite;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Storage;

/// <summary>
/// The embedded SQLite database (<c>&lt;data&gt;/gateway.db</c>): queue, users and, later, the
/// other shared state. Every connection runs in WAL mode with synchronous=FULL, because a queue
/// row that a power cut can undo would break the promise behind our 250. Writes go through
/// <see cref="WriteAsync{T}"/>, which takes the write lock up front (BEGIN IMMEDIATE) so two writers
/// never deadlock on a lock upgrade.
/// The SQL stays plain and portable so a PostgreSQL backend can follow.
/// </summary>
public sealed class GatewayDatabase
{
    static GatewayDatabase()
    {
        // Columns are snake_case, row classes PascalCase.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private readonly string _connectionString;
    private int _migrated;

    public GatewayDatabase(GatewayOptions options)
        : this(Path.Combine(options.FullDataDirectory, "gateway.db"))
    {
    }

    public GatewayDatabase(string path)
    {
        FilePath = Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    public string FilePath { get; }

    public async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _migrated) == 0) await MigrateAsync(cancellationToken);
        return await OpenRawAsync(cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> in one BEGIN IMMEDIATE transaction and commits it.</summary>
    public async Task<T> WriteAsync<T>(Func<SqliteConnection, IDbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        // deferred: false is BEGIN IMMEDIATE: take the write lock now, not at the first write.
        await using var transaction = connection.BeginTransaction(deferred: false);
        var result = await work(connection, transaction);
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    public Task WriteAsync(Func<SqliteConnection, IDbTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, cancellationToken);

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await connection.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
        return connection;
    }

    /// <summary>Creates the file owner-only and applies the numbered scripts in <c>Storage/Migrations</c> not yet applied.</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        OwnerOnly.EnsureFile(FilePath);
        await using var connection = await OpenRawAsync(cancellationToken);
        await connection.ExecuteAsync("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
        var applied = (await connection.QueryAsync<long>("SELECT version FROM schema_version")).ToHashSet();
        foreach (var (version, sql) in Scripts())
        {
            if (applied.Contains(version)) continue;
            await using var transaction = connection.BeginTransaction(deferred: false);
            // Another process (a CLI verb beside `serve`) may have applied it since we looked.
            if (await connection.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM schema_version WHERE version = @version", new { version }, transaction) > 0)
                continue;
            await connection.ExecuteAsync(sql, transaction: transaction);
            await connection.ExecuteAsync("INSERT INTO schema_version (version, applied_at) VALUES (@version, @now)",
                new { version, now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, transaction);
            await transaction.CommitAsync(cancellationToken);
        }
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            if (File.Exists(FilePath + suffix) && !OperatingSystem.IsWindows())
                File.SetUnixFileMode(FilePath + suffix, OwnerOnly.FileMode);
        }
        Volatile.Write(ref _migrated, 1);
    }

    private static IEnumerable<(long Version, string Sql)> Scripts()
    {
        var assembly = typeof(GatewayDatabase).Assembly;
        const string prefix = "PhiMailGateway.Storage.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = name[prefix.Length..];
            var version = long.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (version, reader.ReadToEnd());
        }
    }
}
