using PhiMailGateway.Certificates;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The certificate store contract against a fresh database of the test cluster.</summary>
public sealed class PostgreSqlCertificateStoreContractTests : CertificateStoreContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<ICertificateStore> CreateAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return new SqlCertificateStore(_storage.Storage, TimeProvider.System);
    }

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
