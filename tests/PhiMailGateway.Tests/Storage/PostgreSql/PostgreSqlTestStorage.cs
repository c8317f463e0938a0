using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage.PostgreSql;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>
/// What a PostgreSQL contract test runs against: a fresh database of the shared test cluster, the
/// storage on it, and a data folder for what stays per instance (master key, audit head file).
/// </summary>
public sealed class PostgreSqlTestStorage : IAsyncDisposable
{
    private readonly List<PostgreSqlGatewayStorage> _instances = [];

    private PostgreSqlTestStorage(PostgresDatabase database, TempDirectory folder)
    {
        Database = database;
        Folder = folder;
        Options = new GatewayOptions { DataDirectory = folder.Path, HostName = "gw.test", NodeName = "node-a" };
        Storage = NewInstance();
        Sealer = QueueTestBed.NewSealer(Options);
    }

    public PostgresDatabase Database { get; }
    public TempDirectory Folder { get; }
    public GatewayOptions Options { get; }
    public PostgreSqlGatewayStorage Storage { get; }
    public AuditChainSealer Sealer { get; }

    public static async Task<PostgreSqlTestStorage> CreateAsync(bool migrate = true)
    {
        var database = await PostgresCluster.CreateDatabaseAsync();
        var storage = new PostgreSqlTestStorage(database, new TempDirectory());
        if (migrate) await storage.Storage.MigrateAsync(CancellationToken.None);
        return storage;
    }

    /// <summary>Another instance's storage on the same database, as a second gateway would open it.</summary>
    public PostgreSqlGatewayStorage NewInstance()
    {
        var instance = new PostgreSqlGatewayStorage(Database.ConnectionString);
        _instances.Add(instance);
        return instance;
    }

    public PostgreSqlMessageQueue Queue(TimeProvider time, string nodeName, TimeSpan? lease = null, PostgreSqlGatewayStorage? instance = null) =>
        new(instance ?? Storage, Sealer, time, Options with { NodeName = nodeName },
            new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = Database.ConnectionString, LeaseTime = lease ?? TimeSpan.FromMinutes(5) });

    /// <summary>Every write fails from now on, as after a failover to a read-only standby; reads still work.</summary>
    public async Task SetReadOnlyAsync(bool readOnly)
    {
        await Database.SetReadOnlyAsync(readOnly);
        foreach (var instance in _instances) instance.ClearPool();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var instance in _instances) await instance.DisposeAsync();
        await Database.DisposeAsync();
        Folder.Dispose();
    }
}
