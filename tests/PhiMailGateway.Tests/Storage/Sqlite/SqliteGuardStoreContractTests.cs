using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The guard store contract against the embedded store, a real SQLite database.</summary>
public sealed class SqliteGuardStoreContractTests : GuardStoreContract
{
    private TempDirectory _data = null!;

    protected override async Task<(IGuardStore Guard, IAuditStore Audit)> CreateAsync()
    {
        _data = new TempDirectory();
        var options = new GatewayOptions { DataDirectory = _data.Path, HostName = "gw.test" };
        var database = new GatewayDatabase(options);
        await database.MigrateAsync(CancellationToken.None);
        var keys = new AuditKeys(MasterKey.LoadOrCreate(options));
        var sealer = new AuditChainSealer(keys, new AuditHeadFile(options, NullLogger<AuditHeadFile>.Instance));
        return (new SqliteGuardStore(database), new SqliteAuditStore(database, sealer));
    }

    protected override Task DestroyAsync()
    {
        SqliteConnection.ClearAllPools();
        _data.Dispose();
        return Task.CompletedTask;
    }
}
