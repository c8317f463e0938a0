using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The queue contract against a fresh database of the test cluster; the refused-write test makes the database read-only.</summary>
public sealed class PostgreSqlMessageQueueContractTests : MessageQueueContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(IMessageQueue Queue, IAuditStore Audit)> CreateAsync(TimeProvider time)
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (_storage.Queue(time, "node-a"), new SqlAuditStore(_storage.Storage, _storage.Sealer));
    }

    protected override Task MakeUnwritableAsync() => _storage.SetReadOnlyAsync(true);

    protected override Task MakeWritableAsync() => _storage.SetReadOnlyAsync(false);

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
