using Dapper;

namespace PhiMailGateway.Tests.Storage;

/// <summary>A fresh, migrated database for one test, and a second handle on it, as a second user of the database opens one.</summary>
public interface IContractDatabase : IAsyncDisposable
{
    Task<(ISqlDatabase First, ISqlDatabase Second)> OpenAsync();
}

/// <summary>
/// The base of the contract suites whose stores are the shared bodies of <c>Storage/Sql</c>: each
/// provider's suite names its <typeparamref name="TDatabase"/> (a fresh database per test, and a
/// second handle on it: another gateway instance on PostgreSQL, a CLI verb beside `serve` on
/// SQLite). What one handle writes, the other must read: the state is the database's, not a process's.
/// </summary>
public abstract class SqlStorageContract<TDatabase> where TDatabase : IContractDatabase, new()
{
    private TDatabase _database = default!;

    protected ISqlDatabase Database { get; private set; } = null!;

    protected ISqlDatabase Second { get; private set; } = null!;

    [SetUp]
    public async Task SetUpDatabase()
    {
        _database = new TDatabase();
        (Database, Second) = await _database.OpenAsync();
    }

    [TearDown]
    public async Task TearDownDatabase() => await _database.DisposeAsync();

    /// <summary>Changes rows behind the store's back, as damage or an operator would.</summary>
    protected Task ExecuteAsync(string sql) =>
        Database.WriteAsync((c, t) => c.ExecuteAsync(sql, transaction: t), CancellationToken.None);

    protected Task<T?> ScalarAsync<T>(string sql) =>
        Database.ReadAsync(c => c.ExecuteScalarAsync<T>(sql), CancellationToken.None);
}
