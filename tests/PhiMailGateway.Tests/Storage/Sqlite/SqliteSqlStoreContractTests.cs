using Microsoft.Data.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>
/// A migrated <c>gateway.db</c> in a temp folder, and a second <see cref="GatewayDatabase"/> on the
/// same file, as a CLI verb beside `serve` opens it.
/// </summary>
public sealed class SqliteContractDatabase : IContractDatabase
{
    private readonly TempDirectory _dir = new();

    public async Task<(ISqlDatabase First, ISqlDatabase Second)> OpenAsync()
    {
        var first = new GatewayDatabase(Path.Combine(_dir.Path, "gateway.db"));
        await first.MigrateAsync(CancellationToken.None);
        return (first, new GatewayDatabase(first.FilePath));
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class SqliteUserDirectoryContractTests : UserDirectoryContract<SqliteContractDatabase>;

public sealed class SqliteAuthLockoutsContractTests : AuthLockoutsContract<SqliteContractDatabase>;

public sealed class SqliteMtaStsPolicyStoreContractTests : MtaStsPolicyStoreContract<SqliteContractDatabase>;
