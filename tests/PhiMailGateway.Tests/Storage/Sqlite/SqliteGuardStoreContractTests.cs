using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The guard store contract against the embedded store, a real SQLite database.</summary>
public sealed class SqliteGuardStoreContractTests : GuardStoreContract
{
    private QueueTestBed _bed = null!;

    protected override async Task<(IGuardStore Guard, IAuditStore Audit)> CreateAsync()
    {
        _bed = await QueueTestBed.CreateAsync();
        return (new SqlGuardStore(_bed.Database), new SqlAuditStore(_bed.Database, _bed.Sealer));
    }

    protected override Task DestroyAsync()
    {
        _bed.Dispose();
        return Task.CompletedTask;
    }
}
