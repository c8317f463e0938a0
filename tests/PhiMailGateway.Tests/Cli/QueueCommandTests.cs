using System.Buffers;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Cli;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

public class QueueCommandTests
{
    private QueueTestBed _bed = null!;
    private SpoolDirectory _spool = null!;
    private IMessageQueue _queue = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        (_spool, _queue) = (_bed.Spool, _bed.Queue);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private Task<string> AcceptAsync() => _bed.AcceptAsync("dr.lee@specialist.example");

    private async Task<(int Code, string Out, string Err)> Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_bed.DataDirectory}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task QueueCommand_EmptyQueue_SaysSo()
    {
        var (code, output, _) = await Run("queue", "list");
        Assert.That(code, Is.Zero);
        Assert.That(output.Trim(), Is.EqualTo("Queue is empty."));
    }

    [Test]
    public async Task QueueCommand_DeferredDelivery_IsListedAndRetryMakesItDueNow()
    {
        var id = await AcceptAsync();
        var deliveryId = id + "-1";
        await _queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [new NewDelivery(deliveryId, "office@practice.example", ["dr.lee@specialist.example"], _spool.IncomingPath(id), 0, "Relay", null, false, false)], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        var delivery = (await _queue.DueDeliveriesAsync(10, CancellationToken.None)).Single();
        await _queue.RecordAttemptAsync(delivery, [new RecipientOutcome("dr.lee@specialist.example", RecipientStatus.Deferred, 451, "busy")], [],
            DateTimeOffset.UtcNow.AddHours(1), "451 busy", [], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        Assert.That(await _queue.DueDeliveriesAsync(10, CancellationToken.None), Is.Empty);

        var listed = await Run("queue", "list");
        Assert.That(listed.Code, Is.Zero, listed.Err);
        Assert.That(listed.Out, Does.Contain(id).And.Contain("Processed").And.Contain(deliveryId).And.Contain("last: 451 busy"));
        Assert.That(listed.Out, Does.Contain("waiting for: dr.lee@specialist.example"));

        var retried = await Run("queue", "retry", deliveryId);
        Assert.That(retried.Code, Is.Zero, retried.Err);
        Assert.That((await _queue.DueDeliveriesAsync(10, CancellationToken.None)).Single().DeliveryId, Is.EqualTo(deliveryId));
    }

    [Test]
    public async Task QueueCommand_RetryHeldMessage_MovesItBackToIncoming()
    {
        var id = await AcceptAsync();
        var held = Path.Combine(_spool.Hold, id + ".msg");
        File.Move(_spool.IncomingPath(id), held);
        await _queue.SetMessageStateAsync(id, MessageStates.Held, "stage failed", held, CancellationToken.None);

        var (code, output, err) = await Run("queue", "retry", id);
        Assert.That(code, Is.Zero, err);
        Assert.That(output, Does.Contain("Released " + id));
        Assert.That(File.Exists(_spool.IncomingPath(id)), Is.True);
        var message = await _queue.FindMessageAsync(id, CancellationToken.None);
        Assert.That(message!.State, Is.EqualTo(MessageStates.Received));
        Assert.That(message.SpoolPath, Is.EqualTo(_spool.IncomingPath(id)));
    }

    [TestCase(1, "queue", "retry", "0000000000000000NONE")]
    [TestCase(2, "queue", "retry")]
    [TestCase(2, "queue", "flush")]
    public async Task QueueCommand_BadInput_ExitsNonZeroWithAMessage(int expected, params string[] args)
    {
        var (code, _, err) = await Run(args);
        Assert.That(code, Is.EqualTo(expected));
        Assert.That(err, Is.Not.Empty);
    }
}
