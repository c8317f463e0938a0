using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The audit store contract against the embedded store: a real SQLite database on a small tmpfs, which the refused-write test fills.</summary>
public sealed class SqliteAuditStoreContractTests : AuditStoreContract
{
    private SmallDisk _disk = null!;

    protected override async Task<(IAuditStore Store, AuditKeys Keys)> CreateAsync()
    {
        _disk = SmallDisk.Mount(megabytes: 4);
        var options = new GatewayOptions { DataDirectory = _disk.Path, HostName = "gw.test" };
        var database = new GatewayDatabase(options);
        await database.MigrateAsync(CancellationToken.None);
        var keys = new AuditKeys(MasterKey.LoadOrCreate(options));
        var sealer = new AuditChainSealer(keys, new AuditHeadFile(options, NullLogger<AuditHeadFile>.Instance));
        return (new SqlAuditStore(database, sealer), keys);
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
