using PhiMailGateway.Tests.TestKit;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What the AUTH lockout records (<see cref="SqlAuthLockouts"/>) must do on every database. They are
/// global: a lockout recorded through one handle is listed and cleared through the other, and the
/// unlock generation is one count per user, whoever raised it.
/// </summary>
public abstract class AuthLockoutsContract<TDatabase> : SqlStorageContract<TDatabase> where TDatabase : IContractDatabase, new()
{
    private static readonly TimeSpan Lockout = TimeSpan.FromMinutes(15);

    private ManualTimeProvider _clock = null!;
    private IAuthLockouts _lockouts = null!;
    private IAuthLockouts _other = null!;

    [SetUp]
    public void SetUpLockouts()
    {
        _clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        _lockouts = new SqlAuthLockouts(Database, _clock);
        _other = new SqlAuthLockouts(Second, _clock);
    }

    private Task<long> LockAsync(IAuthLockouts store, string user, string scope, string client, TimeSpan? length = null) =>
        store.RecordAsync(user, scope, client, _clock.GetUtcNow(), _clock.GetUtcNow() + (length ?? Lockout), CancellationToken.None);

    [Test]
    public async Task Lockouts_Recorded_ListedUntilTheyEndNewestFirst()
    {
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7");
        await LockAsync(_lockouts, "billing", AuthLockoutScopes.User, "", TimeSpan.FromMinutes(30));

        var running = await _lockouts.ListRunningAsync(CancellationToken.None);
        Assert.That(running.Select(l => (l.UserName, l.Scope, l.Client)),
            Is.EqualTo(new[] { ("billing", AuthLockoutScopes.User, ""), ("frontdesk", AuthLockoutScopes.Pair, "192.0.2.7") }), "the one running longest first");
        Assert.That(running[1].LockedUntil, Is.EqualTo(_clock.GetUtcNow() + Lockout).Within(TimeSpan.FromMilliseconds(1)));

        _clock.Advance(Lockout);
        Assert.That((await _lockouts.ListRunningAsync(CancellationToken.None)).Select(l => l.UserName), Is.EqualTo(new[] { "billing" }), "a lockout that ended is not listed");
    }

    [Test]
    public async Task Lockouts_SameKeyRecordedAgain_OneRowWithTheNewTimes()
    {
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7");
        _clock.Advance(TimeSpan.FromMinutes(20));
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7");

        var running = await _lockouts.ListRunningAsync(CancellationToken.None);
        Assert.That(running, Has.Count.EqualTo(1));
        Assert.That(running[0].LockedUntil, Is.EqualTo(_clock.GetUtcNow() + Lockout).Within(TimeSpan.FromMilliseconds(1)));
    }

    [Test]
    public async Task Lockouts_Unlock_ClearsThatUsersLockoutsOnly_CountsTheRunningOnes_RaisesTheGeneration()
    {
        Assert.That(await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7"), Is.EqualTo(0), "never unlocked");
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.User, "");
        await LockAsync(_lockouts, "billing", AuthLockoutScopes.Pair, "192.0.2.7");

        Assert.That(await _lockouts.UnlockAsync("frontdesk", CancellationToken.None), Is.EqualTo(2));

        Assert.That((await _lockouts.ListRunningAsync(CancellationToken.None)).Select(l => l.UserName), Is.EqualTo(new[] { "billing" }));
        Assert.That(await _lockouts.GenerationAsync("frontdesk", CancellationToken.None), Is.EqualTo(1));
        Assert.That(await _lockouts.GenerationAsync("billing", CancellationToken.None), Is.EqualTo(0));
        Assert.That(await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7"), Is.EqualTo(1), "a new lockout is recorded under the new generation");
    }

    [Test]
    public async Task Lockouts_UnlockOfAnEndedLockout_CountsNoneRunningButStillRaisesTheGeneration()
    {
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.Pair, "192.0.2.7");
        _clock.Advance(Lockout + TimeSpan.FromSeconds(1));

        Assert.That(await _lockouts.UnlockAsync("frontdesk", CancellationToken.None), Is.EqualTo(0));
        Assert.That(await _lockouts.GenerationAsync("frontdesk", CancellationToken.None), Is.EqualTo(1));
    }

    [Test]
    public async Task Lockouts_RecordedThroughOneHandle_ListedAndClearedThroughTheOther()
    {
        await LockAsync(_lockouts, "frontdesk", AuthLockoutScopes.User, "");

        Assert.That((await _other.ListRunningAsync(CancellationToken.None)).Select(l => l.UserName), Is.EqualTo(new[] { "frontdesk" }),
            "restored at start-up by any instance");
        Assert.That(await _other.UnlockAsync("frontdesk", CancellationToken.None), Is.EqualTo(1));
        Assert.That(await _lockouts.GenerationAsync("frontdesk", CancellationToken.None), Is.EqualTo(1), "the first sees the unlock at its next attempt");
        Assert.That(await _lockouts.ListRunningAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Lockouts_UnlocksThroughBothHandlesAtOnce_EachCounts()
    {
        await Task.WhenAll(Enumerable.Range(0, 10).Select(i => (i % 2 == 0 ? _lockouts : _other).UnlockAsync("frontdesk", CancellationToken.None)));

        Assert.That(await _lockouts.GenerationAsync("frontdesk", CancellationToken.None), Is.EqualTo(10), "no unlock lost to another");
    }

    [Test]
    public async Task Failures_CountedPerKeyWithinTheWindow_ThenANewWindowStarts()
    {
        Assert.That(await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None), Is.EqualTo(1));
        _clock.Advance(Lockout - TimeSpan.FromSeconds(1));
        Assert.That(await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None), Is.EqualTo(2), "still in the window");
        Assert.That(await _lockouts.CountFailureAsync("user:frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None), Is.EqualTo(1), "each key its own count");

        _clock.Advance(TimeSpan.FromSeconds(2));
        Assert.That(await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None), Is.EqualTo(1),
            "the window of the first failure has ended");
    }

    [Test]
    public async Task Failures_Cleared_CountFromOneAgain()
    {
        await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None);
        await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None);

        await _lockouts.ClearFailuresAsync("pair:192.0.2.7|frontdesk", CancellationToken.None);

        Assert.That(await _lockouts.CountFailureAsync("pair:192.0.2.7|frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None), Is.EqualTo(1));
    }

    [Test]
    public async Task Failures_ThroughBothHandlesAtOnce_AddUpToOneCount()
    {
        var counts = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            (i % 2 == 0 ? _lockouts : _other).CountFailureAsync("user:frontdesk", _clock.GetUtcNow(), Lockout, CancellationToken.None)));

        Assert.That(counts.Order(), Is.EqualTo(Enumerable.Range(1, 12)), "each failure counted once, none lost, whichever instance it reached");
    }

    [Test]
    public async Task Failures_KeyWithAStrangersLongName_StoredAsAFixedSizeHashOnly()
    {
        var name = "guess" + new string('x', 5000);
        await _lockouts.CountFailureAsync("pair:192.0.2.7|" + name, _clock.GetUtcNow(), Lockout, CancellationToken.None);

        Assert.That(await ScalarAsync<string>("SELECT key_hash FROM auth_failures"), Has.Length.EqualTo(64).And.Not.Contains("guess"));
    }
}
