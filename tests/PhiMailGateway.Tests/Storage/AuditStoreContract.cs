using PhiMailGateway.Audit;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What every <see cref="IAuditStore"/> must do, whatever the database behind it: each subclass
/// supplies a fresh, empty store and the keys its sealer uses. No engine-specific SQL here.
/// </summary>
public abstract class AuditStoreContract
{
    protected IAuditStore Store { get; private set; } = null!;
    protected AuditKeys Keys { get; private set; } = null!;

    protected abstract Task<(IAuditStore Store, AuditKeys Keys)> CreateAsync();

    /// <summary>Makes the storage refuse every write from now on, as a full disk or a read-only database does.</summary>
    protected abstract Task MakeUnwritableAsync();

    protected abstract Task MakeWritableAsync();

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract() => (Store, Keys) = await CreateAsync();

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private static DisclosureRow Record(string queueId, string recipient, long recordedAt, string? reference = null, params string[] lookups) => new()
    {
        RecordedAt = recordedAt,
        QueueId = queueId,
        DeliveryId = queueId + "-1",
        Sender = "office@practice.example",
        Recipient = recipient,
        Action = reference is null ? "Relay" : "Pickup",
        Reference = reference,
        PhiKinds = "",
        PhiParts = "",
        KeyId = "test",
        PatientLookups = [.. lookups],
    };

    private static AuditEventRow Event(string type, string? queueId, string? packageId = null) =>
        new() { RecordedAt = 5, Type = type, QueueId = queueId, PackageId = packageId, Recipient = "dr.lee@specialist.example" };

    [Test]
    public async Task Append_RecordsAndEvents_OneGapFreeChainWhoseMacsVerify()
    {
        Assert.That(await Store.ReadHeadAsync(CancellationToken.None), Is.EqualTo(ChainHead.Genesis), "an empty chain starts at genesis");

        await Store.AppendAsync([Record("Q1", "dr.lee@specialist.example", 1), Event(AuditEventTypes.Rejected, "Q1")], CancellationToken.None);
        var head = await Store.AppendAsync([Event(AuditEventTypes.Relayed, "Q1"), Record("Q2", "lab@smilelab.example", 2)], CancellationToken.None);

        Assert.That(head.Seq, Is.EqualTo(4));
        Assert.That(await Store.ReadHeadAsync(CancellationToken.None), Is.EqualTo(head), "the head read back is the one the append returned");
        var chain = await Store.ReadChainAsync(CancellationToken.None);
        Assert.That(chain.MissingGuards, Is.Empty, "the append-only guards are in place");
        var links = chain.Disclosures.Select(d => (d.Seq, d.PrevMac, d.Mac, Canonical: AuditChain.Canonical(d)))
            .Concat(chain.Events.Select(e => (e.Seq, e.PrevMac, e.Mac, Canonical: AuditChain.Canonical(e))))
            .OrderBy(l => l.Seq).ToList();
        Assert.That(links.Select(l => l.Seq), Is.EqualTo(new long[] { 1, 2, 3, 4 }), "one seq across records and events, in append order");
        var previous = ChainHead.Genesis.Mac;
        foreach (var link in links)
        {
            Assert.That(link.PrevMac, Is.EqualTo(previous), $"seq {link.Seq} follows the one before");
            Assert.That(Keys.ChainMac(link.PrevMac, link.Canonical), Is.EqualTo(link.Mac), $"seq {link.Seq} is stored as sealed");
            previous = link.Mac;
        }
    }

    [Test]
    public async Task Append_OneRowRefused_NoneOfTheBatchIsKept()
    {
        await Store.AppendAsync([Record("Q1", "a@lab.example", 1)], CancellationToken.None);
        var broken = Record("Q2", "b@lab.example", 2);
        broken.Sender = null!;

        Assert.ThrowsAsync(Is.InstanceOf<StorageException>(), () => Store.AppendAsync([Record("Q2", "a@lab.example", 2), broken], CancellationToken.None));

        Assert.That((await Store.ReadHeadAsync(CancellationToken.None)).Seq, Is.EqualTo(1), "a batch is appended whole or not at all");
        Assert.That((await Store.AppendAsync([Event(AuditEventTypes.Relayed, "Q1")], CancellationToken.None)).Seq, Is.EqualTo(2), "and seq stays gap-free");
    }

    [Test]
    public async Task FindDisclosures_ByTimeRecipientAndPatientLookup_OnlyMatchingInChainOrder()
    {
        await Store.AppendAsync(
        [
            Record("Q1", "Dr.Lee@Specialist.example", 1000, null, "lookup-a"),
            Record("Q2", "lab@smilelab.example", 2000, null, "lookup-b"),
            Record("Q3", "dr.lee@specialist.example", 3000, null, "lookup-a", "lookup-b"),
        ], CancellationToken.None);

        async Task<string[]> Find(DisclosureFilter filter) =>
            (await Store.FindDisclosuresAsync(filter, CancellationToken.None)).Select(d => d.QueueId).ToArray();
        Assert.That(await Find(new DisclosureFilter(null, null, null, null)), Is.EqualTo(new[] { "Q1", "Q2", "Q3" }));
        Assert.That(await Find(new DisclosureFilter(DateTimeOffset.FromUnixTimeMilliseconds(2000), DateTimeOffset.FromUnixTimeMilliseconds(3000), null, null)),
            Is.EqualTo(new[] { "Q2" }), "since is inclusive, until exclusive");
        Assert.That(await Find(new DisclosureFilter(null, null, " DR.LEE@specialist.example ", null)), Is.EqualTo(new[] { "Q1", "Q3" }), "recipient without regard to case");
        Assert.That(await Find(new DisclosureFilter(null, null, null, "lookup-b")), Is.EqualTo(new[] { "Q2", "Q3" }));
    }

    [Test]
    public async Task FindEvents_ByQueueIdAndByPackage_PackageEventsOnlyWithoutQueueId()
    {
        await Store.AppendAsync(
        [
            Event(AuditEventTypes.Relayed, "Q1"),
            Event(AuditEventTypes.Relayed, "Q2"),
            Event(AuditEventTypes.PickupViewed, null, "P1"),
            Event(AuditEventTypes.PickupCodeSent, "Q9", "P1"),
        ], CancellationToken.None);

        var found = await Store.FindEventsAsync(["Q1"], ["P1"], CancellationToken.None);
        Assert.That(found.Select(e => (e.Type, e.QueueId)), Is.EqualTo(new[] { (AuditEventTypes.Relayed, (string?)"Q1"), (AuditEventTypes.PickupViewed, (string?)null) }));
        Assert.That(await Store.FindEventsAsync([], [], CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Append_StorageRefusesWrites_StorageUnavailableAndHeadUnchanged()
    {
        await Store.AppendAsync([Record("Q1", "a@lab.example", 1)], CancellationToken.None);
        await MakeUnwritableAsync();
        try
        {
            // Enough rows that the write needs new pages, whatever the page cache held.
            var many = Enumerable.Range(0, 200).Select(i => (AuditRow)Record("Q" + i, new string('x', 2000) + "@lab.example", i)).ToList();
            Assert.ThrowsAsync<StorageUnavailableException>(() => Store.AppendAsync(many, CancellationToken.None));
        }
        finally
        {
            await MakeWritableAsync();
        }
        Assert.That((await Store.ReadHeadAsync(CancellationToken.None)).Seq, Is.EqualTo(1));
    }
}
