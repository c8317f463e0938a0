namespace PhiMailGateway.Tests.Storage.PostgreSql;

// Each against a fresh database of the test cluster, the second handle another instance's storage on it.

public sealed class PostgreSqlUserDirectoryContractTests : UserDirectoryContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (_storage.Storage, _storage.NewInstance());
    }

    protected override async Task DestroyDatabaseAsync() => await _storage.DisposeAsync();
}

public sealed class PostgreSqlAuthLockoutsContractTests : AuthLockoutsContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (_storage.Storage, _storage.NewInstance());
    }

    protected override async Task DestroyDatabaseAsync() => await _storage.DisposeAsync();
}

public sealed class PostgreSqlMtaStsPolicyStoreContractTests : MtaStsPolicyStoreContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (_storage.Storage, _storage.NewInstance());
    }

    protected override async Task DestroyDatabaseAsync() => await _storage.DisposeAsync();
}
