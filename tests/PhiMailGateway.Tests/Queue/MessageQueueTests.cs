using System.Buffers;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

public class MessageQueueTests
{
    private QueueTestBed _bed = null!;
    private SpoolDirectory _spool = null!;
    private GatewayDatabase _database = null!;
    private IMessageQueue _queue = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        (_spool, _database, _queue) = (_bed.Spool, _bed.Database, _bed.Queue);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private Task<string> AcceptAsync(params string[] recipients) => _bed.AcceptAsync(recipients);

    [Test]
    public async Task SpoolMessageAcceptor_Accept_WritesOwnerOnlyFileAndQueueRow()
    {
        var id = await AcceptAsync("a@lab.example");
        var path = _spool.IncomingPath(id);
        Assert.That(File.Exists(path), Is.True);
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(_database.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        var due = await _queue.DueMessagesAsync(10, CancellationToken.None);
        Assert.That(due.Select(m => m.QueueId), Is.EqualTo(new[] { id }));
        Assert.That(Directory.EnumerateFiles(_spool.Temp), Is.Empty);
    }

    [Test]
    public async Task SpoolMessageAcceptor_IncomingFolderUnusable_ReturnsTransientAndKeepsNothing()
    {
        Directory.Delete(_spool.Incoming);
        File.WriteAllText(_spool.Incoming, "not a folder");
        var acceptor = _bed.Acceptor();
        var envelope = new Envelope("office@practice.example", ["a@lab.example"], null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        var result = await acceptor.AcceptAsync(envelope, new ReadOnlySequence<byte>("Subject: t\r\n\r\nx"u8.ToArray()), CancellationToken.None);
        Assert.That(result, Is.TypeOf<AcceptResult.Transient>());
        Assert.That(await _queue.DueMessagesAsync(10, CancellationToken.None), Is.Empty);
        Assert.That(Directory.EnumerateFiles(_spool.Temp), Is.Empty, "the temp file is removed again");
    }

    [Test]
    public async Task SpoolRecovery_FileWithoutRow_IsQueuedAgain_AndForeignFileMovesToCorrupt()
    {
        var id = await AcceptAsync("a@lab.example");
        // Simulate a crash between the rename and the queue row: a fresh database.
        File.Delete(_database.FilePath);
        foreach (var f in Directory.EnumerateFiles(_bed.DataDirectory, "gateway.db-*")) File.Delete(f);
        var database = new GatewayDatabase(new GatewayOptions { DataDirectory = _bed.DataDirectory });
        var queue = new SqliteMessageQueue(database, _bed.Sealer, TimeProvider.System);
        File.WriteAllText(Path.Combine(_spool.Incoming, "GARBAGE.msg"), "this is not a spool file");
        File.WriteAllText(Path.Combine(_spool.Temp, "half.tmp"), "never acknowledged");

        await new SpoolRecovery(_spool, queue, NullLogger<SpoolRecovery>.Instance).RecoverAsync(CancellationToken.None);

        Assert.That((await queue.DueMessagesAsync(10, CancellationToken.None)).Select(m => m.QueueId), Is.EqualTo(new[] { id }));
        Assert.That(File.Exists(Path.Combine(_spool.Corrupt, "GARBAGE.msg")), Is.True);
        Assert.That(Directory.EnumerateFiles(_spool.Temp), Is.Empty);
    }

    [Test]
    public async Task SpoolRecovery_AcknowledgedFileWhoseRenameWasLost_GoesBackToIncoming_AndIsProcessed()
    {
        // The queue row is the commit point; incoming/ is not fsynced per message, so a crash may
        // leave an acknowledged file in tmp/. An unacknowledged one there (no row) still goes.
        var id = await AcceptAsync("a@lab.example");
        var content = await File.ReadAllBytesAsync(_spool.IncomingPath(id));
        File.Move(_spool.IncomingPath(id), Path.Combine(_spool.Temp, id + ".tmp"));
        var unacknowledged = QueueId.New(DateTimeOffset.UtcNow);
        File.WriteAllText(Path.Combine(_spool.Temp, unacknowledged + ".tmp"), "a 451 was sent for this one");

        await new SpoolRecovery(_spool, _queue, NullLogger<SpoolRecovery>.Instance).RecoverAsync(CancellationToken.None);

        Assert.That(await File.ReadAllBytesAsync(_spool.IncomingPath(id)), Is.EqualTo(content));
        Assert.That(Directory.EnumerateFiles(_spool.Temp), Is.Empty);
        Assert.That(File.Exists(_spool.IncomingPath(unacknowledged)), Is.False);
        Assert.That((await _queue.DueMessagesAsync(10, CancellationToken.None)).Select(m => m.QueueId), Is.EqualTo(new[] { id }));
    }

    [Test]
    public async Task MessageQueue_AttemptWithDeferredAndDelivered_KeepsOnlyDeferredPending()
    {
        var id = await AcceptAsync("a@lab.example", "b@lab.example");
        var path = _spool.IncomingPath(id);
        await _queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [new NewDelivery(id + "-1", "office@practice.example", ["a@lab.example", "b@lab.example"], path, 0, "Relay", null, false, false)], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        var delivery = (await _queue.DueDeliveriesAsync(10, CancellationToken.None)).Single();
        Assert.That(await _queue.PendingRecipientsAsync(delivery.DeliveryId, CancellationToken.None), Is.EqualTo(new[] { "a@lab.example", "b@lab.example" }));

        var done = await _queue.RecordAttemptAsync(delivery,
            [new RecipientOutcome("a@lab.example", RecipientStatus.Delivered, 250, "ok"), new RecipientOutcome("b@lab.example", RecipientStatus.Deferred, 451, "later")],
            [], DateTimeOffset.UtcNow.AddMinutes(-1), "451 later", [], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        Assert.That(done.DeliveryDone, Is.False);
        Assert.That(done.FilesToDelete, Is.Empty);
        Assert.That(await _queue.TryFinishMessageAsync(id, CancellationToken.None), Is.False, "a pending recipient keeps the message");

        delivery = (await _queue.DueDeliveriesAsync(10, CancellationToken.None)).Single();
        Assert.That(await _queue.PendingRecipientsAsync(delivery.DeliveryId, CancellationToken.None), Is.EqualTo(new[] { "b@lab.example" }));
        Assert.That(delivery.Attempts, Is.EqualTo(1));

        done = await _queue.RecordAttemptAsync(delivery, [new RecipientOutcome("b@lab.example", RecipientStatus.Deferred, 451, "later")],
            ["b@lab.example"], DateTimeOffset.UtcNow, "expired", [], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        Assert.That(done.DeliveryDone, Is.True, "a recipient given up on is final");
        Assert.That(done.FilesToDelete, Is.EqualTo(new[] { path }), "the last settled delivery finishes the message and frees its spool file");
        Assert.That((await _queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Done));
    }

    [Test]
    public async Task SpoolRecovery_FileOfAFinishedMessage_IsRemoved()
    {
        var id = await AcceptAsync("a@lab.example");
        await _queue.SetMessageStateAsync(id, MessageStates.Done, null, null, CancellationToken.None);

        await new SpoolRecovery(_spool, _queue, NullLogger<SpoolRecovery>.Instance).RecoverAsync(CancellationToken.None);

        Assert.That(File.Exists(_spool.IncomingPath(id)), Is.False, "a deletion a crash undid is redone");
        Assert.That((await _queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Done), "and it is not sent again");
    }
}
