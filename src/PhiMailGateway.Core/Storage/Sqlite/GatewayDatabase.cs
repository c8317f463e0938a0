using System.Collections.Concurrent;
using System.Data;
using System.Data.Common;
using System.Reflection;
using System.Runtime.CompilerServices;
using Dapper;
using Microsoft.Data.Sqlite;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage.Sql;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// The embedded SQLite database (<c>&lt;data&gt;/gateway.db</c>): queue, users and, later, the
/// other shared state. Every connection runs in WAL mode with synchronous=FULL, because a queue
/// row that a power cut can undo would break the promise behind our 250. Writes go through
/// <see cref="WriteAsync{T}"/>, which takes the write lock up front (BEGIN IMMEDIATE) so two writers
/// never deadlock on a lock upgrade, and lets concurrent writes share one commit (group commit).
/// The stores are shared with PostgreSQL (<c>Storage/Sql</c>) and reach this through
/// <see cref="ISqlDatabase"/>; connections never leave the storage folder, and SQLite's errors are
/// mapped here (<see cref="SqliteErrors"/>), so stores hand out rows and storage-neutral exceptions only.
/// </summary>
public sealed class GatewayDatabase : IGatewayStorage, ISqlDatabase
{
    static GatewayDatabase()
    {
        // Columns are snake_case, row classes PascalCase.
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    private static readonly ConditionalWeakTable<SQLitePCL.sqlite3, object> Configured = new();
    private static readonly object Marker = new();

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

    public string Location => FilePath;

    /// <summary>A connection for reads; SQLite errors met on it are the caller's to map (prefer <see cref="ReadAsync{T}"/>).</summary>
    internal async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _migrated) == 0) await MigrateUnmappedAsync(cancellationToken);
        return await OpenRawAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="work"/> in a BEGIN IMMEDIATE transaction and returns once it is committed
    /// (synchronous=FULL: on disk). Group commit: while one batch is being written, the writes that
    /// arrive queue up, and the next batch runs them together in one transaction, each inside its
    /// own savepoint, so one commit (one WAL fsync) serves them all. A write that throws is rolled
    /// back to its savepoint and its caller gets the exception; the others still commit. When the
    /// commit itself fails, every caller in the batch gets that exception: none of it was written.
    /// In-process writers wait on a semaphore instead of SQLite's busy handler, whose sleeps (1, 2,
    /// 5, 10 ms...) would otherwise add latency to every contended write; other processes (CLI verbs)
    /// still meet busy_timeout.
    /// </summary>
    internal Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) =>
        SqliteErrors.MapAsync(WriteUnmappedAsync(work, cancellationToken));

    /// <summary>Runs a read on a pooled connection; SQLite errors come out storage-neutral.</summary>
    internal Task<T> ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) =>
        SqliteErrors.MapAsync(ReadUnmappedAsync(read, cancellationToken));

    /// <summary>
    /// A deferred transaction: in WAL mode it reads one snapshot from its first statement on, takes
    /// no write lock and is rolled back (nothing to commit).
    /// </summary>
    internal Task<T> ReadSnapshotAsync<T>(Func<DbConnection, DbTransaction, Task<T>> read, CancellationToken cancellationToken) =>
        ReadAsync(async connection =>
        {
            await using var transaction = ((SqliteConnection)connection).BeginTransaction(deferred: true);
            return await read(connection, transaction);
        }, cancellationToken);

    SqlDialect ISqlDatabase.Dialect => SqlDialect.Sqlite;

    Task<T> ISqlDatabase.WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken) => WriteAsync(work, cancellationToken);

    Task ISqlDatabase.WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) => WriteAsync(work, cancellationToken);

    Task<T> ISqlDatabase.ReadAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken) => ReadAsync(read, cancellationToken);

    Task<T> ISqlDatabase.ReadSnapshotAsync<T>(Func<DbConnection, DbTransaction, Task<T>> read, CancellationToken cancellationToken) =>
        ReadSnapshotAsync(read, cancellationToken);

    private async Task<T> ReadUnmappedAsync<T>(Func<DbConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await read(connection);
    }

    private async Task<T> WriteUnmappedAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // A write started from inside another write's callback would wait for the batch it is part
        // of, forever: say so instead of hanging.
        if (InWriteBatch.Value) throw new InvalidOperationException("A database write cannot start inside another write; use the connection and transaction it was given.");
        var request = new WriteRequest(async (c, t) => await work(c, t), cancellationToken);
        _pendingWrites.Enqueue(request);
        // Not cancellable: once queued, another batch may already be running this request, and the
        // caller must learn whether it committed. The wait lasts at most one batch.
        await _writerGate.WaitAsync(CancellationToken.None);
        try
        {
            if (!request.Completion.Task.IsCompleted) await WriteBatchAsync();
        }
        finally
        {
            _writerGate.Release();
        }
        return (T)(await request.Completion.Task)!;
    }

    internal Task WriteAsync(Func<DbConnection, DbTransaction, Task> work, CancellationToken cancellationToken) =>
        WriteAsync<bool>(async (c, t) => { await work(c, t); return true; }, cancellationToken);

    /// <summary>
    /// The smallest real write: rewrites the one row of <c>storage_probe</c> through the same group
    /// commit as every other write, so its success means a commit reaches the disk again.
    /// </summary>
    public Task ProbeWriteAsync(CancellationToken cancellationToken) =>
        WriteAsync((c, t) => c.ExecuteAsync("UPDATE storage_probe SET probed_at = @now WHERE id = 1",
            new { now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() }, t), cancellationToken);

    public async Task ProbeReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await connection.ExecuteScalarAsync<long>(new CommandDefinition("SELECT COUNT(*) FROM storage_probe", cancellationToken: cancellationToken));
    }

    /// <summary>Writes that may share one transaction; bounds how long one commit keeps the others waiting.</summary>
    private const int MaxBatch = 64;

    private static readonly AsyncLocal<bool> InWriteBatch = new();

    private readonly ConcurrentQueue<WriteRequest> _pendingWrites = new();

    /// <summary>Writes queued behind the running batch (tests wait on it instead of sleeping).</summary>
    internal int PendingWriteCount => _pendingWrites.Count;
    private readonly SemaphoreSlim _writerGate = new(1, 1);

    private sealed class WriteRequest(Func<DbConnection, DbTransaction, Task<object?>> work, CancellationToken cancellationToken)
    {
        public Func<DbConnection, DbTransaction, Task<object?>> Work { get; } = work;
        public CancellationToken CancellationToken { get; } = cancellationToken;
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public object? Result { get; set; }
        public Exception? Error { get; set; }
    }

    /// <summary>Runs what is queued (up to <see cref="MaxBatch"/>) in one transaction; called with the writer gate held.</summary>
    private async Task WriteBatchAsync()
    {
        var batch = new List<WriteRequest>();
        while (batch.Count < MaxBatch && _pendingWrites.TryDequeue(out var next))
        {
            if (next.CancellationToken.IsCancellationRequested) next.Completion.TrySetCanceled(next.CancellationToken);
            else batch.Add(next);
        }
        if (batch.Count == 0) return;
        var savepoints = batch.Count > 1;
        InWriteBatch.Value = true;
        try
        {
            await using var connection = await OpenAsync(CancellationToken.None);
            // deferred: false is BEGIN IMMEDIATE: take the write lock now, not at the first write.
            await using var transaction = connection.BeginTransaction(deferred: false);
            foreach (var request in batch)
            {
                if (savepoints) transaction.Save("write");
                try
                {
                    request.Result = await request.Work(connection, transaction);
                    if (savepoints) transaction.Release("write");
                }
                catch (Exception e) when (savepoints)
                {
                    request.Error = e;
                    // Undo this write only. Should SQLite have ended the whole transaction (disk full,
                    // I/O error), this throws and the batch fails as one below.
                    transaction.Rollback("write");
                    transaction.Release("write");
                }
            }
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception e)
        {
            foreach (var request in batch) request.Completion.TrySetException(request.Error ?? e);
            return;
        }
        finally
        {
            InWriteBatch.Value = false;
        }
        foreach (var request in batch)
        {
            if (request.Error is not null) request.Completion.TrySetException(request.Error);
            else request.Completion.TrySetResult(request.Result);
        }
    }

    private async Task<SqliteConnection> OpenRawAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        // Per physical connection: the pool hands the same SQLite handle out again with its settings
        // kept, and running four PRAGMAs on every open cost more than most queries.
        if (!Configured.TryGetValue(connection.Handle!, out _))
        {
            await connection.ExecuteAsync("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
            Configured.AddOrUpdate(connection.Handle!, Marker);
        }
        return connection;
    }

    /// <summary>Creates the file owner-only and applies the numbered scripts in <c>Storage/Sqlite/Migrations</c> not yet applied.</summary>
    public Task MigrateAsync(CancellationToken cancellationToken) => SqliteErrors.MapAsync(MigrateUnmappedAsync(cancellationToken));

    private async Task<bool> MigrateUnmappedAsync(CancellationToken cancellationToken)
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
        return true;
    }

    private static IEnumerable<(long Version, string Sql)> Scripts()
    {
        var assembly = typeof(GatewayDatabase).Assembly;
        const string prefix = "PhiMailGateway.Storage.Sqlite.Migrations.";
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            var file = name[prefix.Length..];
            var version = long.Parse(file[..file.IndexOf('_', StringComparison.Ordinal)], System.Globalization.CultureInfo.InvariantCulture);
            using var reader = new StreamReader(assembly.GetManifestResourceStream(name)!);
            yield return (version, reader.ReadToEnd());
        }
    }
}
