using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What a queue that several gateway instances share must do besides <see cref="MessageQueueContract"/>:
/// each subclass opens two instances (different node names, each its own connections) on one fresh
/// database. Work is claimed with a lease: what one instance claimed, the other does not get until
/// that lease runs out or is given up. The embedded SQLite queue has one instance only and no subclass.
/// </summary>
public abstract class SharedQueueContract
{
    private const string Sender = "office@practice.example";
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);

    protected ManualTimeProvider Clock { get; private set; } = null!;
    protected IMessageQueue NodeA { get; private set; } = null!;
    protected IMessageQueue NodeB { get; private set; } = null!;
    protected IAuditStore AuditA { get; private set; } = null!;
    protected IAuditStore AuditB { get; private set; } = null!;
    protected AuditKeys Keys { get; private set; } = null!;

    /// <summary>A fresh database and two instances on it, "node-a" and "node-b", both with <paramref name="lease"/> and clock <paramref name="time"/>.</summary>
    protected abstract Task<SharedNodes> CreateAsync(TimeProvider time, TimeSpan lease);

    protected abstract Task DestroyAsync();

    protected sealed record SharedNodes(IMessageQueue QueueA, IAuditStore AuditA, IMessageQueue QueueB, IAuditStore AuditB, AuditKeys Keys);

    [SetUp]
    public async Task SetUpContract()
    {
        Clock = new ManualTimeProvider(DateTimeOffset.UtcNow.AddSeconds(1));
        var nodes = await CreateAsync(Clock, Lease);
        (NodeA, AuditA, NodeB, AuditB, Keys) = (nodes.QueueA, nodes.AuditA, nodes.QueueB, nodes.AuditB, nodes.Keys);
    }

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private async Task ReceivedAsync(string queueId, int secondsAgo = 1) =>
        await NodeA.RecordReceivedAsync(new SpoolEntry(queueId, "/spool/incoming/" + queueId + ".msg", 100, 2000,
            new Envelope(Sender, ["a@lab.example"], "frontdesk", "127.0.0.1", "pc", Clock.GetUtcNow().AddSeconds(-secondsAgo), true)), CancellationToken.None);

    private static NewDelivery Copy(string deliveryId) =>
        new(deliveryId, Sender, ["a@lab.example"], "/spool/outbound/" + deliveryId + ".eml", 0, "Relay", "everything-else", false, false);

    private static DisclosureRow Record(string queueId, string node) => new()
    {
        RecordedAt = 1,
        QueueId = queueId,
        DeliveryId = queueId + "-1",
        Sender = Sender,
        Recipient = "a@lab.example",
        Action = "Relay",
        RuleName = node,
        PhiKinds = "",
        PhiParts = "",
        KeyId = "test",
    };

    private static async Task<string[]> Due(IMessageQueue node) =>
        (await node.DueMessagesAsync(10, CancellationToken.None)).Select(m => m.QueueId).ToArray();

    private static async Task<string[]> DueCopies(IMessageQueue node) =>
        (await node.DueDeliveriesAsync(10, CancellationToken.None)).Select(d => d.DeliveryId).ToArray();

    [Test]
    public async Task DueMessages_ClaimedByOneNode_TheOtherGetsItOnlyOnceTheLeaseRunsOut()
    {
        await ReceivedAsync("Q1");

        Assert.That(await Due(NodeA), Is.EqualTo(new[] { "Q1" }));
        Assert.That(await Due(NodeB), Is.Empty, "node A holds the lease");
        Assert.That(await Due(NodeA), Is.EqualTo(new[] { "Q1" }), "an instance sees its own claimed work again (it skips what it has in flight)");

        Clock.Advance(Lease - TimeSpan.FromSeconds(1));
        Assert.That(await Due(NodeB), Is.Empty, "the renewed lease still runs");
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.That(await Due(NodeB), Is.EqualTo(new[] { "Q1" }), "node A went silent: its lease ran out and node B takes the work over");
        Assert.That(await Due(NodeA), Is.Empty, "and now node B holds it");
    }

    [Test]
    public async Task DueDeliveries_ClaimedByOneNode_TheOtherGetsItOnlyOnceTheLeaseRunsOut()
    {
        await ReceivedAsync("Q1");
        await NodeA.CommitDisclosureAsync(new MessageDisposition("Q1", MessageStates.Processed, null), [Copy("Q1-1")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);

        Assert.That(await DueCopies(NodeB), Is.EqualTo(new[] { "Q1-1" }));
        Assert.That(await DueCopies(NodeA), Is.Empty, "node B holds the lease");

        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.That(await DueCopies(NodeA), Is.EqualTo(new[] { "Q1-1" }));
        Assert.That(await DueCopies(NodeB), Is.Empty);
    }

    [Test]
    public async Task Defer_GivesUpTheLease_EitherNodeTakesItWhenDueAgain()
    {
        await ReceivedAsync("Q1");
        Assert.That(await Due(NodeA), Is.EqualTo(new[] { "Q1" }));
        await NodeA.DeferMessageAsync("Q1", Clock.GetUtcNow().AddMinutes(1), "stage asked to wait", CancellationToken.None);

        Clock.Advance(TimeSpan.FromMinutes(2));
        Assert.That(await Due(NodeB), Is.EqualTo(new[] { "Q1" }), "due again well within what the lease would have been: the deferral ended it");
    }

    [Test]
    public async Task Defer_ByANodeWhoseLeaseWasTakenOver_LeavesTheNewOwnersLease()
    {
        await ReceivedAsync("Q1");
        Assert.That(await Due(NodeA), Is.EqualTo(new[] { "Q1" }));
        Clock.Advance(Lease + TimeSpan.FromSeconds(1));
        Assert.That(await Due(NodeB), Is.EqualTo(new[] { "Q1" }), "node B took it over");

        // Node A comes back late and records its failure; node B is still working on the message.
        await NodeA.DeferMessageAfterFailureAsync("Q1", Clock.GetUtcNow(), "failed: late", CancellationToken.None);
        Assert.That(await Due(NodeA), Is.Empty, "node B's lease stands");
    }

    [Test]
    public async Task DueMessages_TwoNodesClaimingAtOnce_EachMessageGoesToOneNode()
    {
        const int count = 60;
        for (var i = 0; i < count; i++) await ReceivedAsync($"Q{i:D3}", secondsAgo: 1 + i);

        async Task<List<string>> Drain(IMessageQueue node)
        {
            var mine = new List<string>();
            while (true)
            {
                var due = await node.DueMessagesAsync(5, CancellationToken.None);
                var fresh = due.Where(m => !mine.Contains(m.QueueId)).ToList();
                if (due.Count == 0) return mine;
                foreach (var m in fresh)
                {
                    mine.Add(m.QueueId);
                    await node.CommitDisclosureAsync(new MessageDisposition(m.QueueId, MessageStates.Processed, null), [], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
                }
            }
        }

        var results = await Task.WhenAll(Task.Run(() => Drain(NodeA)), Task.Run(() => Drain(NodeB)));

        Assert.That(results[0].Intersect(results[1]), Is.Empty, "no message was claimed by both nodes");
        Assert.That(results[0].Concat(results[1]), Is.EquivalentTo(Enumerable.Range(0, count).Select(i => $"Q{i:D3}")), "every message was claimed");
        await TestContext.Progress.WriteLineAsync($"two nodes drained {count} messages: {results[0].Count} by node A, {results[1].Count} by node B");
    }

    [Test]
    public async Task AuditChain_BothNodesAppendingAtOnce_OneGapFreeChainWhoseMacsVerify()
    {
        const int perNode = 40;
        for (var i = 0; i < perNode * 2; i++) await ReceivedAsync($"Q{i:D3}");

        // Half through the queue's outbox transaction, half through the audit store, on both nodes.
        async Task Write(IMessageQueue queue, IAuditStore audit, string node, int first)
        {
            for (var i = first; i < first + perNode; i++)
            {
                var id = $"Q{i:D3}";
                if (i % 2 == 0)
                    await queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [Copy(id + "-1")], [Record(id, node), Record(id, node)],
                        PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
                else
                    await audit.AppendAsync([Record(id, node)], CancellationToken.None);
            }
        }

        await Task.WhenAll(Task.Run(() => Write(NodeA, AuditA, "node-a", 0)), Task.Run(() => Write(NodeB, AuditB, "node-b", perNode)));

        var chain = await AuditB.ReadChainAsync(CancellationToken.None);
        Assert.That(chain.Disclosures.Select(d => d.Seq), Is.EqualTo(Enumerable.Range(1, perNode * 3).Select(i => (long)i)), "one seq, no gap, no duplicate");
        Assert.That(chain.Disclosures.Select(d => d.RuleName).Distinct(), Is.EquivalentTo(new[] { "node-a", "node-b" }), "both nodes wrote");
        var previous = ChainHead.Genesis.Mac;
        foreach (var d in chain.Disclosures)
        {
            Assert.That(d.PrevMac, Is.EqualTo(previous), $"seq {d.Seq} follows the one before, whichever node wrote it");
            Assert.That(Keys.ChainMac(d.PrevMac, AuditChain.Canonical(d)), Is.EqualTo(d.Mac), $"seq {d.Seq} is stored as sealed");
            previous = d.Mac;
        }
        Assert.That(await AuditA.ReadHeadAsync(CancellationToken.None), Is.EqualTo(new ChainHead(perNode * 3, previous)), "both nodes see the same head");
    }
}
