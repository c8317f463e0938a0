using System.Net;
using System.Net.Sockets;
using Dapper;
using Npgsql;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.PostgreSql;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

public sealed class PostgreSqlGatewayStorageTests
{
    [Test]
    public async Task Migrate_FourInstancesStartingTogether_EachScriptAppliedOnceAndAllReady()
    {
        await using var storage = await PostgreSqlTestStorage.CreateAsync(migrate: false);
        var instances = Enumerable.Range(0, 4).Select(_ => storage.NewInstance()).ToList();

        await Task.WhenAll(instances.Select(i => Task.Run(() => i.MigrateAsync(CancellationToken.None))));

        await using var connection = new NpgsqlConnection(storage.Database.ConnectionString);
        var versions = (await connection.QueryAsync<long>("SELECT version FROM schema_version ORDER BY version")).ToList();
        Assert.That(versions, Is.Not.Empty);
        Assert.That(versions, Is.Unique, "the advisory lock let one instance apply each script");
        foreach (var instance in instances) await instance.ProbeWriteAsync(CancellationToken.None);
    }

    [Test]
    public async Task Migrate_Again_ChangesNothing()
    {
        await using var storage = await PostgreSqlTestStorage.CreateAsync();
        await using var connection = new NpgsqlConnection(storage.Database.ConnectionString);
        var before = await connection.QueryAsync<(long, long)>("SELECT version, applied_at FROM schema_version ORDER BY version");

        var restarted = storage.NewInstance();
        await restarted.MigrateAsync(CancellationToken.None);

        Assert.That(await connection.QueryAsync<(long, long)>("SELECT version, applied_at FROM schema_version ORDER BY version"), Is.EqualTo(before));
    }

    [Test]
    public async Task Probes_ReadOnlyDatabase_WriteProbeUnavailableReadProbeAnswers()
    {
        await using var storage = await PostgreSqlTestStorage.CreateAsync();
        await storage.Storage.ProbeWriteAsync(CancellationToken.None);
        await storage.SetReadOnlyAsync(true);
        try
        {
            var failure = Assert.ThrowsAsync<StorageUnavailableException>(() => storage.Storage.ProbeWriteAsync(CancellationToken.None));
            Assert.That(failure!.Reason, Is.EqualTo("database read-only"));
            await storage.Storage.ProbeReadAsync(CancellationToken.None);
        }
        finally
        {
            await storage.SetReadOnlyAsync(false);
        }
        await storage.Storage.ProbeWriteAsync(CancellationToken.None);
    }

    [Test]
    public async Task Probes_NothingListensOnThePort_StorageUnavailableUnreachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var storage = new PostgreSqlGatewayStorage($"Host=127.0.0.1;Port={port};Database=phimail;Username=phimail;Password=secret;Timeout=5");

        var failure = Assert.ThrowsAsync<StorageUnavailableException>(() => storage.ProbeReadAsync(CancellationToken.None));
        Assert.That(failure!.Reason, Is.EqualTo("database unreachable"));
        Assert.That(storage.Location, Is.EqualTo($"PostgreSQL database phimail on 127.0.0.1:{port}").And.Not.Contains("secret"), "where, never the password");
    }

    [Test]
    public async Task Probes_WrongPassword_StorageUnavailableLoginRefused()
    {
        await using var database = await PostgresCluster.CreateDatabaseAsync();
        var wrong = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Password = "not-the-password" };
        await using var storage = new PostgreSqlGatewayStorage(wrong.ToString());

        var failure = Assert.ThrowsAsync<StorageUnavailableException>(() => storage.MigrateAsync(CancellationToken.None));
        Assert.That(failure!.Reason, Is.EqualTo("database refused the login"));
    }

    [Test]
    public async Task AuditRows_UpdateDeleteOrTruncate_RefusedByTheDatabase()
    {
        await using var storage = await PostgreSqlTestStorage.CreateAsync();
        var audit = new SqlAuditStore(storage.Storage, storage.Sealer);
        await audit.AppendAsync([new PhiMailGateway.Audit.AuditEventRow { RecordedAt = 1, Type = "Relayed", QueueId = "Q1" }], CancellationToken.None);
        await using var connection = new NpgsqlConnection(storage.Database.ConnectionString);
        await connection.OpenAsync();

        foreach (var sql in new[] { "UPDATE audit_events SET detail = 'edited'", "DELETE FROM audit_events", "TRUNCATE audit_events" })
        {
            var refused = Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteAsync(sql), sql);
            Assert.That(refused!.MessageText, Is.EqualTo("audit records are append-only"), sql);
        }
        Assert.That((await audit.ReadChainAsync(CancellationToken.None)).MissingGuards, Is.Empty);

        await connection.ExecuteAsync("DROP TRIGGER audit_events_no_update ON audit_events");
        Assert.That((await audit.ReadChainAsync(CancellationToken.None)).MissingGuards, Is.EqualTo(new[] { "audit_events_no_update" }), "audit verify names a guard that is gone");
    }
}
