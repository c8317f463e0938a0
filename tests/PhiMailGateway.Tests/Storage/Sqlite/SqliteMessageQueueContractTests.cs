using Microsoft.Data.Sqlite;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The queue contract against the embedded store: a real SQLite database on a small tmpfs, which the refused-write test fills.</summary>
public sealed class SqliteMessageQueueContractTests : MessageQueueContract
{
    private SmallDisk _disk = null!;

    protected override async Task<(IMessageQueue Queue, IAuditStore Audit)> CreateAsync(TimeProvider time)
    {
        _disk = SmallDisk.Mount(megabytes: 4);
        var options = new GatewayOptions { DataDirectory = _disk.Path, HostName = "gw.test" };
        var database = new GatewayDatabase(options);
        await database.MigrateAsync(CancellationToken.None);
        var sealer = QueueTestBed.NewSealer(options);
        return (new SqliteMessageQueue(database, sealer, time), new SqlAuditStore(database, sealer));
    }

    protected override Task MakeUnwritableAsync()
    {
        _disk.Fill();
        return Task.CompletedTask;
    }

    protected override Task MakeWritableAsync()
    {
        _disk.Free();
        return Task.CompletedTask;
    }

    protected override Task DestroyAsync()
    {
        SqliteConnection.ClearAllPools();
        _disk.Dispose();
        return Task.CompletedTask;
    }
}
