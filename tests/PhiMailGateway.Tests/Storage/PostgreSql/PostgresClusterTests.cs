using Npgsql;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The test kit's own cluster: each test database is separate, and read-only means what the stores will meet.</summary>
public sealed class PostgresClusterTests
{
    [Test]
    public async Task CreateDatabase_Twice_TwoEmptyDatabasesThatDoNotShareTables()
    {
        await using var first = await PostgresCluster.CreateDatabaseAsync();
        await using var second = await PostgresCluster.CreateDatabaseAsync();
        Assert.That(first.Name, Is.Not.EqualTo(second.Name));

        await using (var connection = new NpgsqlConnection(first.ConnectionString))
        {
            await connection.OpenAsync();
            await new NpgsqlCommand("CREATE TABLE only_here (id int)", connection).ExecuteNonQueryAsync();
        }
        await using (var connection = new NpgsqlConnection(second.ConnectionString))
        {
            await connection.OpenAsync();
            var count = await new NpgsqlCommand("SELECT COUNT(*) FROM pg_tables WHERE tablename = 'only_here'", connection).ExecuteScalarAsync();
            Assert.That(count, Is.EqualTo(0L), "a fresh database per test");
        }
    }

    [Test]
    public async Task SetReadOnly_NewConnectionsRefuseWrites_ResetWritesAgain()
    {
        await using var database = await PostgresCluster.CreateDatabaseAsync();
        await database.SetReadOnlyAsync(true);
        await using (var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            var refused = Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("CREATE TABLE t (id int)", connection).ExecuteNonQueryAsync());
            Assert.That(refused!.SqlState, Is.EqualTo(PostgresErrorCodes.ReadOnlySqlTransaction));
        }
        await database.SetReadOnlyAsync(false);
        await using (var connection = new NpgsqlConnection(database.ConnectionString + ";Pooling=false"))
        {
            await connection.OpenAsync();
            Assert.That(await new NpgsqlCommand("CREATE TABLE t (id int)", connection).ExecuteNonQueryAsync(), Is.EqualTo(-1));
        }
    }
}
