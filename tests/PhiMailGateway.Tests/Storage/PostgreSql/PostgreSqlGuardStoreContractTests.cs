using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The guard store contract against a fresh database of the test cluster.</summary>
public sealed class PostgreSqlGuardStoreContractTests : GuardStoreContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(IGuardStore Guard, IAuditStore Audit)> CreateAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (new SqlGuardStore(_storage.Storage), new SqlAuditStore(_storage.Storage, _storage.Sealer));
    }

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
