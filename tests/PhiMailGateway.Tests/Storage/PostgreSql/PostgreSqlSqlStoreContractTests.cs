namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>A fresh database of the test cluster, and another instance's storage on it as the second handle.</summary>
public sealed class PostgreSqlContractDatabase : IContractDatabase
{
    private PostgreSqlTestStorage? _storage;

    public async Task<(ISqlDatabase First, ISqlDatabase Second)> OpenAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (_storage.Storage, _storage.NewInstance());
    }

    public async ValueTask DisposeAsync()
    {
        if (_storage is not null) await _storage.DisposeAsync();
    }
}

public sealed class PostgreSqlUserDirectoryContractTests : UserDirectoryContract<PostgreSqlContractDatabase>;

public sealed class PostgreSqlAuthLockoutsContractTests : AuthLockoutsContract<PostgreSqlContractDatabase>;

public sealed class PostgreSqlMtaStsPolicyStoreContractTests : MtaStsPolicyStoreContract<PostgreSqlContractDatabase>;
