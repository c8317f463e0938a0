using PhiMailGateway.Audit;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The audit store contract against a fresh database of the test cluster; the refused-write test makes the database read-only.</summary>
public sealed class PostgreSqlAuditStoreContractTests : AuditStoreContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(IAuditStore Store, AuditKeys Keys)> CreateAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (new SqlAuditStore(_storage.Storage, _storage.Sealer), new AuditKeys(MasterKey.LoadOrCreate(_storage.Options)));
    }

    protected override Task MakeUnwritableAsync() => _storage.SetReadOnlyAsync(true);

    protected override Task MakeWritableAsync() => _storage.SetReadOnlyAsync(false);

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
