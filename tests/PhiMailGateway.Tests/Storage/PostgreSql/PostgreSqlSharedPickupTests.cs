using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.PostgreSql;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>
/// The pickup counters count across instances: two instances (each its own connections) serve one
/// package at the same moment, and the totals are those of one instance serving every request.
/// </summary>
public sealed class PostgreSqlSharedPickupTests
{
    private static readonly PickupOptions Options = new() { MaxWrongCodes = 6, MaxDownloads = 4, MaxCodesPerHour = 20 };

    private PostgreSqlTestStorage _storage = null!;
    private PostgreSqlGatewayStorage _second = null!;
    private string _packageId = null!;

    [SetUp]
    public async Task SetUp()
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        _second = _storage.NewInstance();
        var packages = new PickupPackageStore(new SqlPickupPackages(_storage.Storage, TimeProvider.System), MasterKey.LoadOrCreate(_storage.Options),
            _storage.Options, Options, TimeProvider.System);
        var file = new PackageSource("xray.jpg", "image/jpeg", (s, ct) => s.WriteAsync(DentalCorpus.IntraoralPhotoJpeg(), ct).AsTask());
        _packageId = (await packages.CreateAsync("Q1", "dr.lee@specialist.example", "office@practice.example", PickupScope.Attachments, [file], CancellationToken.None)).PackageId;
    }

    [TearDown]
    public async Task TearDown()
    {
        await _second.DisposeAsync();
        await _storage.DisposeAsync();
    }

    private SqlPickupCodes Codes(PostgreSqlGatewayStorage instance) =>
        new(instance, MasterKey.LoadOrCreate(_storage.Options), Options, TimeProvider.System);

    [Test]
    public async Task WrongCodes_TriedThroughTwoInstancesAtOnce_LockThePackageAfterTheSameTotal()
    {
        var a = Codes(_storage.Storage);
        var b = Codes(_second);
        Assert.That(await a.IssueCodeAsync(_packageId, CancellationToken.None), Is.Not.Null);

        // Never a valid code: six digits are expected, five are sent.
        var checks = Enumerable.Range(0, Options.MaxWrongCodes)
            .Select(i => Task.Run(() => (i % 2 == 0 ? a : b).CheckCodeAsync(_packageId, "00000", CancellationToken.None)));
        var results = await Task.WhenAll(checks);

        Assert.That(results.Count(r => r.Outcome == CodeCheck.Locked), Is.EqualTo(1), "the last of the six wrong codes locks it, whichever instance checked it");
        Assert.That(results.Where(r => r.Outcome == CodeCheck.Wrong).Select(r => r.AttemptsLeft), Is.EquivalentTo(new[] { 5, 4, 3, 2, 1 }),
            "every wrong code counted once: none lost between the instances");
    }

    [Test]
    public async Task Downloads_ThroughTwoInstancesAtOnce_StopAtTheCap()
    {
        var a = new SqlPickupPackages(_storage.Storage, TimeProvider.System);
        var b = new SqlPickupPackages(_second, TimeProvider.System);

        var tries = Enumerable.Range(0, Options.MaxDownloads * 3)
            .Select(i => Task.Run(() => (i % 2 == 0 ? a : b).TryCountDownloadAsync(_packageId, [0], CancellationToken.None)));
        var counted = await Task.WhenAll(tries);

        Assert.That(counted.Count(c => c), Is.EqualTo(Options.MaxDownloads), "Pickup:MaxDownloads holds across instances");
        Assert.That((await a.FindAsync(_packageId, CancellationToken.None))!.DownloadCount, Is.EqualTo(Options.MaxDownloads));
    }
}
