using PhiMailGateway.Audit;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>Work sharing on one database: two instances, each with its own storage (connections) and node name.</summary>
public sealed class PostgreSqlSharedQueueContractTests : SharedQueueContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<SharedNodes> CreateAsync(TimeProvider time, TimeSpan lease)
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        var second = _storage.NewInstance();
        await second.MigrateAsync(CancellationToken.None);
        return new SharedNodes(
            _storage.Queue(time, "node-a", lease), new SqlAuditStore(_storage.Storage, _storage.Sealer),
            _storage.Queue(time, "node-b", lease, second), new SqlAuditStore(second, _storage.Sealer),
            new AuditKeys(MasterKey.LoadOrCreate(_storage.Options)));
    }

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
