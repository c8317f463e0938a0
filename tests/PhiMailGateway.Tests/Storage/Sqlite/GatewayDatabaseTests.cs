using Dapper;
using Microsoft.Data.Sqlite;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Tests.Storage.Sqlite;

public class GatewayDatabaseTests
{
    private string _dir = null!;
    private GatewayDatabase _database = null!;

    [SetUp]
    public async Task SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "phimail-db-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _database = new GatewayDatabase(Path.Combine(_dir, "gateway.db"));
        await _database.WriteAsync((c, t) => c.ExecuteAsync("CREATE TABLE probe (value INTEGER NOT NULL UNIQUE)", transaction: t), CancellationToken.None);
    }

    /// <summary>Waits until <paramref name="count"/> writes wait behind the blocking one, so they are sure to share its next batch.</summary>
    private Task WritesQueuedAsync(int count) =>
        PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(_database.PendingWriteCount >= count), $"{count} writes are queued");

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task WritesQueuedBehindABusyWriter_CommitTogether_AndAFailingOneIsUndoneAlone()
    {
        // The first write holds the writer until released, so the next ones queue up and share a batch.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = _database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync("INSERT INTO probe (value) VALUES (0)", transaction: t);
            entered.SetResult();
            await release.Task;
        }, CancellationToken.None);
        await entered.Task;

        var good = Enumerable.Range(1, 20).Select(i => Task.Run(() => _database.WriteAsync(
            (c, t) => c.ExecuteAsync("INSERT INTO probe (value) VALUES (@i)", new { i }, t), CancellationToken.None))).ToList();
        var throwing = Task.Run(() => _database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync("INSERT INTO probe (value) VALUES (100)", transaction: t);
            throw new InvalidOperationException("this write fails after its insert");
        }, CancellationToken.None));
        var duplicate = Task.Run(() => _database.WriteAsync(
            (c, t) => c.ExecuteAsync("INSERT INTO probe (value) VALUES (0)", transaction: t), CancellationToken.None));
        await WritesQueuedAsync(22);
        release.SetResult();

        await blocker;
        await Task.WhenAll(good);
        Assert.ThrowsAsync<InvalidOperationException>(() => throwing);
        var constraint = Assert.ThrowsAsync<StorageException>(() => duplicate);
        Assert.That(((SqliteException)constraint!.InnerException!).SqliteErrorCode, Is.EqualTo(19), "SQLITE_CONSTRAINT, mapped to a storage-neutral error");

        await using var reader = await _database.OpenAsync(CancellationToken.None);
        var values = (await reader.QueryAsync<long>("SELECT value FROM probe ORDER BY value")).ToList();
        Assert.That(values, Is.EqualTo(Enumerable.Range(0, 21).Select(i => (long)i)), "every good write committed, the failing one undone");
    }

    [Test]
    public async Task WriteReturnsItsOwnResult_WhenSharingACommit()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = _database.WriteAsync(async (_, _) => { entered.SetResult(); await release.Task; }, CancellationToken.None);
        await entered.Task;
        var writes = Enumerable.Range(1, 10).Select(i => Task.Run(() => _database.WriteAsync(async (c, t) =>
        {
            await c.ExecuteAsync("INSERT INTO probe (value) VALUES (@i)", new { i }, t);
            return await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM probe WHERE value <= @i", new { i }, t) * 1000 + i;
        }, CancellationToken.None))).ToList();
        await WritesQueuedAsync(10);
        release.SetResult();
        await blocker;

        var results = await Task.WhenAll(writes);
        Assert.That(results.Select(r => r % 1000), Is.EqualTo(Enumerable.Range(1, 10).Select(i => (long)i)), "each caller gets its own value");
    }

    [Test]
    public async Task WriteCancelledWhileQueued_IsNotWritten()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var blocker = _database.WriteAsync(async (_, _) => { entered.SetResult(); await release.Task; }, CancellationToken.None);
        await entered.Task;
        using var cancel = new CancellationTokenSource();
        var queued = Task.Run(() => _database.WriteAsync((c, t) => c.ExecuteAsync("INSERT INTO probe (value) VALUES (7)", transaction: t), cancel.Token));
        await WritesQueuedAsync(1);
        await cancel.CancelAsync();
        release.SetResult();
        await blocker;

        Assert.That(async () => await queued, Throws.InstanceOf<OperationCanceledException>());
        await using var reader = await _database.OpenAsync(CancellationToken.None);
        Assert.That(await reader.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM probe"), Is.Zero);
    }

    [Test]
    public async Task EveryOpenedConnection_RunsWithWalFullSyncForeignKeysAndBusyTimeout_AlsoWhenTakenFromThePool()
    {
        for (var i = 0; i < 3; i++)
        {
            await using var c = await _database.OpenAsync(CancellationToken.None);
            Assert.That(await c.ExecuteScalarAsync<string>("PRAGMA journal_mode"), Is.EqualTo("wal"), $"open {i}");
            Assert.That(await c.ExecuteScalarAsync<long>("PRAGMA synchronous"), Is.EqualTo(2), $"open {i}: FULL");
            Assert.That(await c.ExecuteScalarAsync<long>("PRAGMA foreign_keys"), Is.EqualTo(1), $"open {i}");
            Assert.That(await c.ExecuteScalarAsync<long>("PRAGMA busy_timeout"), Is.EqualTo(5000), $"open {i}");
        }
    }

    [Test]
    public async Task WriteStartedInsideAnotherWrite_FailsClearly_InsteadOfWaitingForever()
    {
        var nested = Assert.ThrowsAsync<InvalidOperationException>(() => _database.WriteAsync(
            (_, _) => _database.WriteAsync((c, t) => c.ExecuteAsync("INSERT INTO probe (value) VALUES (1)", transaction: t), CancellationToken.None),
            CancellationToken.None));
        Assert.That(nested!.Message, Does.Contain("inside another write"));
        // The writer is free again afterwards.
        await _database.WriteAsync((c, t) => c.ExecuteAsync("INSERT INTO probe (value) VALUES (2)", transaction: t), CancellationToken.None);
        await using var reader = await _database.OpenAsync(CancellationToken.None);
        Assert.That(await reader.QueryAsync<long>("SELECT value FROM probe"), Is.EqualTo(new[] { 2L }));
    }
}
