using Dapper;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// The base of the contract suites whose stores are the shared bodies of <c>Storage/Sql</c>: each
/// subclass supplies a fresh, migrated database and a second handle on the same database, as a
/// second user of it opens one (another gateway instance on PostgreSQL; a CLI verb beside `serve`
/// on SQLite). What one handle writes, the other must read: the state is the database's, not a process's.
/// </summary>
public abstract class SqlStorageContract
{
    protected ISqlDatabase Database { get; private set; } = null!;

    protected ISqlDatabase Second { get; private set; } = null!;

    protected abstract Task<(ISqlDatabase First, ISqlDatabase Second)> CreateDatabaseAsync();

    protected abstract Task DestroyDatabaseAsync();

    [SetUp]
    public async Task SetUpDatabase() => (Database, Second) = await CreateDatabaseAsync();

    [TearDown]
    public Task TearDownDatabase() => DestroyDatabaseAsync();

    /// <summary>Changes rows behind the store's back, as damage or an operator would.</summary>
    protected Task ExecuteAsync(string sql) =>
        Database.WriteAsync((c, t) => c.ExecuteAsync(sql, transaction: t), CancellationToken.None);

    protected Task<T?> ScalarAsync<T>(string sql) =>
        Database.ReadAsync(c => c.ExecuteScalarAsync<T>(sql), CancellationToken.None);
}
