using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>The guard's knowledge over a real SQLite database: what the audit delivered, what people added, what configuration vouches for.</summary>
public class GuardKnowledgeCacheTests
{
    private QueueTestBed _bed = null!;
    private GatewayOptions _gateway = null!;
    private IAuditStore _audit = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _gateway = _bed.Options with { Domains = ["smiledental.example"] };
        _audit = new SqlAuditStore(_bed.Database, _bed.Sealer);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private Task DeliveredAsync(string queueId, string recipient, string? name = null) =>
        _audit.AppendAsync(DeliveredRows.Of(queueId, recipient, name), CancellationToken.None);

    private GuardKnowledgeCache Cache(GuardOptions? options = null) => new(new SqlGuardStore(_bed.Database), options ?? new GuardOptions(), _gateway);

    [Test]
    public async Task Current_DeliveredBeforeAndSince_BothKnownWithTheirNames()
    {
        await DeliveredAsync("Q1", "Dr.Lee@Endo.example", "Dr. Amy Lee");
        var cache = Cache();
        var first = await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q2", "lab@crown.example");
        var second = await cache.CurrentAsync(CancellationToken.None);

        Assert.That(first.IsKnownAddress("dr.lee", "endo.example"), Is.True, "delivered before the cache started");
        Assert.That(first.IsKnownAddress("lab", "crown.example"), Is.False);
        Assert.That(second.IsKnownAddress("lab", "crown.example"), Is.True, "delivered since");
        Assert.That(second.IsKnownAddress("dr.lee", "endo.example"), Is.True, "still known");
        Assert.That(second.AddressesNamed("dr amy lee"), Is.EqualTo(new[] { "dr.lee@endo.example" }));
    }

    [Test]
    public async Task Current_TwoNewAddressesAndNamesInOneRead_AllLearned()
    {
        var cache = Cache();
        await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q1", "a@one.example", "Amy One");
        await DeliveredAsync("Q2", "b@two.example", "Ben Two");
        var known = await cache.CurrentAsync(CancellationToken.None);
        Assert.That(known.IsKnownAddress("a", "one.example") && known.IsKnownAddress("b", "two.example"), Is.True);
        Assert.That(known.AddressesNamed("ben two"), Is.EqualTo(new[] { "b@two.example" }));
    }

    [Test]
    public async Task Current_TwoNewAddressesWithoutNamesInOneRead_BothLearned()
    {
        var cache = Cache();
        await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q1", "a@one.example");
        await DeliveredAsync("Q2", "b@two.example");
        var known = await cache.CurrentAsync(CancellationToken.None);
        Assert.That(known.IsKnownAddress("a", "one.example"), Is.True);
        Assert.That(known.IsKnownAddress("b", "two.example"), Is.True, "the second new address is news too");
    }

    [Test]
    public async Task Current_OnlyANewNameForAKnownAddress_Learned()
    {
        await DeliveredAsync("Q1", "a@one.example");
        var cache = Cache();
        await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q2", "a@one.example", "Amy One");
        Assert.That((await cache.CurrentAsync(CancellationToken.None)).AddressesNamed("amy one"), Is.EqualTo(new[] { "a@one.example" }));
    }

    [Test]
    public async Task Current_NothingNew_TheSameKnowledgeObject()
    {
        await DeliveredAsync("Q1", "dr.lee@endo.example");
        var cache = Cache();
        var first = await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q2", "dr.lee@endo.example"); // a repeat teaches nothing new
        Assert.That(await cache.CurrentAsync(CancellationToken.None), Is.SameAs(first));
    }

    [Test]
    public async Task Current_EntryAddedByAnotherProcess_SeenAtTheNextCall()
    {
        var cache = Cache();
        var before = await cache.CurrentAsync(CancellationToken.None);
        // As `guard known add` does from its own process: another store over the same file.
        var cli = new SqlGuardStore(new GatewayDatabase(_gateway));
        await cli.AddKnownAsync(new KnownEntry("@crown.example", KnownSources.It, DateTimeOffset.UtcNow, "cli"), CancellationToken.None);
        await cli.AddKnownAsync(new KnownEntry("dr.kim@ortho.example", KnownSources.It, DateTimeOffset.UtcNow, "cli"), CancellationToken.None);
        var after = await cache.CurrentAsync(CancellationToken.None);

        Assert.That(before.IsVouchedDomain("crown.example"), Is.False);
        Assert.That(after.IsVouchedDomain("crown.example"), Is.True);
        Assert.That(after.IsKnownAddress("dr.kim", "ortho.example"), Is.True);

        await cli.RemoveKnownAsync("@crown.example", CancellationToken.None);
        Assert.That((await cache.CurrentAsync(CancellationToken.None)).IsVouchedDomain("crown.example"), Is.False, "a removal is seen too");
    }

    [Test]
    public async Task Current_DeliveriesLearnedThenAnAddedEntryRemoved_TheDeliveriesStayKnown()
    {
        var store = new SqlGuardStore(_bed.Database);
        await store.AddKnownAsync(new KnownEntry("dr.kim@ortho.example", KnownSources.It, DateTimeOffset.UtcNow, "cli"), CancellationToken.None);
        var cache = Cache();
        await cache.CurrentAsync(CancellationToken.None);
        await DeliveredAsync("Q1", "a@one.example", "Amy One");
        var grown = await cache.CurrentAsync(CancellationToken.None);
        await store.RemoveKnownAsync("dr.kim@ortho.example", CancellationToken.None);
        var after = await cache.CurrentAsync(CancellationToken.None);

        Assert.That(grown.IsKnownAddress("dr.kim", "ortho.example") && grown.IsKnownAddress("a", "one.example"), Is.True, "the delivery was added to what IT entered");
        Assert.That(after.IsKnownAddress("dr.kim", "ortho.example"), Is.False, "the removed entry is forgotten");
        Assert.That(after.IsKnownAddress("a", "one.example"), Is.True, "what the audit delivered stays");
        Assert.That(after.AddressesNamed("amy one"), Is.EqualTo(new[] { "a@one.example" }));
    }

    [Test]
    public async Task Current_PracticeAndConfiguredDomains_AreVouchedFor()
    {
        var known = await Cache(new GuardOptions { KnownDomains = ["Partner.Example"] }).CurrentAsync(CancellationToken.None);
        Assert.That(known.IsVouchedDomain("smiledental.example"), Is.True, "Gateway:Domains");
        Assert.That(known.IsVouchedDomain("partner.example"), Is.True, "Guard:KnownDomains, normalised");
        Assert.That(known.IsVouchedDomain("other.example"), Is.False);
    }
}
