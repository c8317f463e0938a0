using PhiMailGateway.Direct;

namespace PhiMailGateway.Tests.Storage;

/// <summary>What the kept MTA-STS policies (<see cref="SqlMtaStsPolicyStore"/>) must do on every database.</summary>
public abstract class MtaStsPolicyStoreContract<TDatabase> : SqlStorageContract<TDatabase> where TDatabase : IContractDatabase, new()
{
    private static readonly DateTimeOffset Fetched = DateTimeOffset.FromUnixTimeMilliseconds(1_765_000_000_123);

    private IMtaStsPolicyStore _store = null!;

    [SetUp]
    public void SetUpStore() => _store = new SqlMtaStsPolicyStore(Database);

    private static MtaStsPolicy Policy(string domain, string id = "20261207", MtaStsMode mode = MtaStsMode.Enforce, params string[] mx) =>
        new(domain, id, mode, mx.Length > 0 ? mx : ["mx1.lab.example", "*.backup.lab.example"], TimeSpan.FromDays(7), Fetched);

    [Test]
    public async Task Policies_Saved_FoundAsSaved()
    {
        await _store.SaveAsync(Policy("lab.example"), CancellationToken.None);

        var found = await _store.FindAsync("lab.example", CancellationToken.None);

        Assert.That(found, Is.Not.Null);
        Assert.That((found!.Domain, found.Id, found.Mode, found.MaxAge, found.FetchedAt),
            Is.EqualTo(("lab.example", "20261207", MtaStsMode.Enforce, TimeSpan.FromDays(7), Fetched)));
        Assert.That(found.Mx, Is.EqualTo(new[] { "mx1.lab.example", "*.backup.lab.example" }), "every pattern, in order");
    }

    [Test]
    public async Task Policies_UnknownDomain_Null()
    {
        await _store.SaveAsync(Policy("lab.example"), CancellationToken.None);

        Assert.That(await _store.FindAsync("other.example", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Policies_DomainCase_DoesNotMatter()
    {
        await _store.SaveAsync(Policy("Lab.Example"), CancellationToken.None);

        Assert.That((await _store.FindAsync("LAB.example", CancellationToken.None))?.Domain, Is.EqualTo("lab.example"));
    }

    [Test]
    public async Task Policies_SavedAgain_TheNewPolicyReplacesTheOld()
    {
        await _store.SaveAsync(Policy("lab.example"), CancellationToken.None);
        await _store.SaveAsync(Policy("lab.example", "20261208", MtaStsMode.Testing, "mx9.lab.example"), CancellationToken.None);

        var found = await _store.FindAsync("lab.example", CancellationToken.None);

        Assert.That((found!.Id, found.Mode, found.Mx.Single()), Is.EqualTo(("20261208", MtaStsMode.Testing, "mx9.lab.example")));
    }

    [Test]
    public async Task Policies_StoredModeUnknown_NotAPolicy()
    {
        await _store.SaveAsync(Policy("lab.example"), CancellationToken.None);
        await ExecuteAsync("UPDATE mta_sts_policies SET mode = 'Strict' WHERE domain = 'lab.example'");

        Assert.That(await _store.FindAsync("lab.example", CancellationToken.None), Is.Null, "a row it cannot read as a policy does not hold a domain to one");
    }

    [Test]
    public async Task Policies_SavedThroughOneHandle_FoundThroughTheOther()
    {
        await _store.SaveAsync(Policy("lab.example"), CancellationToken.None);

        Assert.That((await new SqlMtaStsPolicyStore(Second).FindAsync("lab.example", CancellationToken.None))?.Id, Is.EqualTo("20261207"),
            "a policy one instance fetched holds on every other");
    }
}
