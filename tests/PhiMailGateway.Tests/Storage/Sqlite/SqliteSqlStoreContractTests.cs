using Microsoft.Data.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>
/// A migrated <c>gateway.db</c> in a temp folder, and a second <see cref="GatewayDatabase"/> on the
/// same file, as a CLI verb beside `serve` opens it.
/// </summary>
internal sealed class SqliteContractDatabase : IDisposable
{
    private readonly TempDirectory _dir = new();

    public GatewayDatabase First { get; private set; } = null!;

    public GatewayDatabase Second { get; private set; } = null!;

    public async Task<(ISqlDatabase, ISqlDatabase)> OpenAsync()
    {
        First = new GatewayDatabase(Path.Combine(_dir.Path, "gateway.db"));
        await First.MigrateAsync(CancellationToken.None);
        Second = new GatewayDatabase(First.FilePath);
        return (First, Second);
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}

public sealed class SqliteUserDirectoryContractTests : UserDirectoryContract
{
    private SqliteContractDatabase _database = null!;

    protected override Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync() => (_database = new SqliteContractDatabase()).OpenAsync();

    protected override Task DestroyDatabaseAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class SqliteAuthLockoutsContractTests : AuthLockoutsContract
{
    private SqliteContractDatabase _database = null!;

    protected override Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync() => (_database = new SqliteContractDatabase()).OpenAsync();

    protected override Task DestroyDatabaseAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}

public sealed class SqliteMtaStsPolicyStoreContractTests : MtaStsPolicyStoreContract
{
    private SqliteContractDatabase _database = null!;

    protected override Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync() => (_database = new SqliteContractDatabase()).OpenAsync();

    protected override Task DestroyDatabaseAsync()
    {
        _database.Dispose();
        return Task.CompletedTask;
    }
}
