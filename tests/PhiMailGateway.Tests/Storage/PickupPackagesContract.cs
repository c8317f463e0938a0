using System.Security.Cryptography;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What every store of pickup package records (<see cref="IPickupPackages"/>) must do, whatever the
/// database behind it. Each subclass supplies the store and the session store of one fresh storage.
/// Nothing here may assume one engine: the PostgreSQL store adds the second subclass.
/// </summary>
public abstract class PickupPackagesContract
{
    private const int MaxDownloads = 2;
    private static readonly TimeSpan Lifetime = TimeSpan.FromDays(14);

    protected ManualTimeProvider Clock { get; private set; } = null!;
    protected IPickupPackages Packages { get; private set; } = null!;
    protected IPickupSessions Sessions { get; private set; } = null!;

    /// <summary>A fresh, empty storage; <paramref name="time"/> is the stores' clock.</summary>
    protected abstract Task<(IPickupPackages Packages, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time);

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract()
    {
        Clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        (Packages, Sessions) = await CreateAsync(new PickupOptions { MaxDownloads = MaxDownloads }, Clock);
    }

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private NewPickupPackage Package(int files = 2, SealedPickupLabel? label = null, string? tokenHash = null)
    {
        var id = PickupSecrets.NewPackageId();
        var created = Clock.GetUtcNow();
        return new NewPickupPackage(id, tokenHash ?? PickupSecrets.Hash(PickupSecrets.NewToken()), "Q-" + id, "dr.lee@specialist.example",
            "office@practice.example", PickupScope.Attachments, 1000L * files, "key-1", RandomNumberGenerator.GetBytes(60), created, created + Lifetime,
            MaxDownloads, Enumerable.Range(0, files).Select(i => new NewPickupFile(i, [(byte)i, 1, 2, 3], "image/jpeg", 1000, new string('a', 63) + i)).ToList(),
            label);
    }

    private async Task<NewPickupPackage> CreatedAsync(int files = 2, SealedPickupLabel? label = null)
    {
        var package = Package(files, label);
        await Packages.CreateAsync(package, CancellationToken.None);
        return package;
    }

    [Test]
    public async Task Create_ThenFindByTokenHashAndById_ReturnsTheActiveRowAndItsFiles()
    {
        var made = await CreatedAsync(files: 2);

        var byToken = await Packages.FindByTokenHashAsync(made.TokenHash, CancellationToken.None);
        var byId = await Packages.FindAsync(made.PackageId, CancellationToken.None);
        Assert.That(byToken?.PackageId, Is.EqualTo(made.PackageId), "found by the hash of its token");
        Assert.That(byId, Is.Not.Null);
        Assert.That(byId!.TokenHash, Is.EqualTo(made.TokenHash));
        Assert.That((byId.QueueId, byId.Recipient, byId.Sender, byId.Scope), Is.EqualTo((made.QueueId, made.Recipient, made.Sender, "Attachments")));
        Assert.That((byId.FileCount, byId.TotalBytes, byId.MaxDownloads, byId.DownloadCount), Is.EqualTo((2L, 2000L, (long)MaxDownloads, 0L)));
        Assert.That((byId.KeyId, byId.WrappedKey), Is.EqualTo((made.KeyId, made.WrappedKey)), "the wrapped key comes back byte for byte");
        Assert.That((byId.CreatedAt, byId.ExpiresAt), Is.EqualTo((made.CreatedAt.ToUnixTimeMilliseconds(), made.ExpiresAt.ToUnixTimeMilliseconds())));
        Assert.That((byId.State, byId.RevokedAt, byId.PurgedAt), Is.EqualTo((PackageStates.Active, (long?)null, (long?)null)));
        Assert.That(byId.Availability(Clock.GetUtcNow()), Is.EqualTo(PackageAvailability.Available));

        var files = await Packages.FilesAsync(made.PackageId, CancellationToken.None);
        Assert.That(files, Is.EqualTo(made.Files.Select(f => new StoredPickupFile(f.Index, f.SealedName, f.ContentType, f.Size, f.Sha256, 0))).Using<StoredPickupFile>(SameFile),
            "every file, in index order, sealed name byte for byte");
    }

    [Test]
    public async Task FindByTokenHash_UnknownHash_ReturnsNull()
    {
        await CreatedAsync();

        Assert.That(await Packages.FindByTokenHashAsync(PickupSecrets.Hash(PickupSecrets.NewToken()), CancellationToken.None), Is.Null);
        Assert.That(await Packages.FindAsync("pk_0000000000000000", CancellationToken.None), Is.Null);
        Assert.That(await Packages.FilesAsync("pk_0000000000000000", CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Create_TokenHashTaken_ThrowsStorageExceptionAndRecordsNothingOfIt()
    {
        var first = await CreatedAsync();
        var second = Package(files: 1, label: new SealedPickupLabel("m@practice.example", [1]), tokenHash: first.TokenHash);

        Assert.ThrowsAsync(Is.InstanceOf<StorageException>(), () => Packages.CreateAsync(second, CancellationToken.None),
            "a token hash opens one package only; the engine's error comes out storage-neutral");
        Assert.That(await Packages.FindAsync(second.PackageId, CancellationToken.None), Is.Null);
        Assert.That(await Packages.FilesAsync(second.PackageId, CancellationToken.None), Is.Empty, "package, files and label commit together or not at all");
        Assert.That((await Packages.LabelsAsync(CancellationToken.None)).ContainsKey(second.PackageId), Is.False);
        Assert.That((await Packages.FindByTokenHashAsync(first.TokenHash, CancellationToken.None))?.PackageId, Is.EqualTo(first.PackageId));
    }

    [Test]
    public async Task Create_AFileRowRefused_ThrowsStorageExceptionAndNeitherPackageNorLabelIsRecorded()
    {
        var made = Package(files: 1, label: new SealedPickupLabel("m@practice.example", [1]));
        // Two files with one index: the second file row is refused after the package row went in.
        var broken = made with { Files = [made.Files[0], made.Files[0]] };

        Assert.ThrowsAsync(Is.InstanceOf<StorageException>(), () => Packages.CreateAsync(broken, CancellationToken.None));
        Assert.That(await Packages.FindAsync(made.PackageId, CancellationToken.None), Is.Null, "package, files and label commit together or not at all");
        Assert.That(await Packages.FindByTokenHashAsync(made.TokenHash, CancellationToken.None), Is.Null);
        Assert.That(await Packages.FilesAsync(made.PackageId, CancellationToken.None), Is.Empty);
        Assert.That(await Packages.LabelsAsync(CancellationToken.None), Is.Empty);

        await Packages.CreateAsync(made, CancellationToken.None);
        Assert.That(await Packages.FindAsync(made.PackageId, CancellationToken.None), Is.Not.Null, "the failed attempt left nothing in the way");
    }

    [Test]
    public async Task Labels_WrittenWithTheirPackage_ReadBackByPackageId()
    {
        var labelled = await CreatedAsync(label: new SealedPickupLabel("abc@practice.example", [9, 8, 7]));
        var noSubject = await CreatedAsync(label: new SealedPickupLabel(null, null));
        var unlabelled = await CreatedAsync(label: null);

        var labels = await Packages.LabelsAsync(CancellationToken.None);
        Assert.That(labels[labelled.PackageId].MessageId, Is.EqualTo("abc@practice.example"));
        Assert.That(labels[labelled.PackageId].SealedSubject, Is.EqualTo(new byte[] { 9, 8, 7 }));
        Assert.That(labels[noSubject.PackageId], Is.EqualTo(new SealedPickupLabel(null, null)));
        Assert.That(labels.ContainsKey(unlabelled.PackageId), Is.False, "a package made without a label has none");
    }

    [Test]
    public async Task List_EveryPackage_OldestFirst()
    {
        var first = await CreatedAsync();
        Clock.Advance(TimeSpan.FromSeconds(1));
        var second = await CreatedAsync();

        var listed = await Packages.ListAsync(CancellationToken.None);
        Assert.That(listed.Select(p => p.PackageId), Is.EqualTo(new[] { first.PackageId, second.PackageId }));
    }

    [Test]
    public async Task TryCountDownload_EachFileHasItsOwnLimit_PackageFollowsItsLeastDownloadedFile()
    {
        var made = await CreatedAsync(files: 2);
        var id = made.PackageId;

        Assert.That(await Packages.TryCountDownloadAsync(id, [0], CancellationToken.None), Is.True);
        Assert.That(await Packages.TryCountDownloadAsync(id, [0], CancellationToken.None), Is.True);
        Assert.That(await Packages.TryCountDownloadAsync(id, [0], CancellationToken.None), Is.False, "file 0 reached Pickup:MaxDownloads");
        Assert.That((await Packages.FindAsync(id, CancellationToken.None))!.DownloadCount, Is.Zero, "file 1 was never downloaded");
        Assert.That(await Packages.TryCountDownloadAsync(id, [0, 1], CancellationToken.None), Is.False, "the zip of all needs a download left of every file");
        Assert.That((await Packages.FilesAsync(id, CancellationToken.None)).Select(f => f.DownloadCount), Is.EqualTo(new long[] { 2, 0 }),
            "a refused zip counts nothing, not even the file that had downloads left");
        Assert.That(await Packages.TryCountDownloadAsync(id, [], CancellationToken.None), Is.False, "no file asked for, nothing counted");

        Assert.That(await Packages.TryCountDownloadAsync(id, [1], CancellationToken.None), Is.True, "downloading file 0 did not use up file 1");
        Assert.That(await Packages.TryCountDownloadAsync(id, [1], CancellationToken.None), Is.True);
        var used = (await Packages.FindAsync(id, CancellationToken.None))!;
        Assert.That(used.DownloadCount, Is.EqualTo(MaxDownloads), "every file used up: so is the package");
        Assert.That(used.Availability(Clock.GetUtcNow()), Is.EqualTo(PackageAvailability.DownloadsUsed));
        Assert.That(await Packages.TryCountDownloadAsync(id, [1], CancellationToken.None), Is.False);
    }

    [Test]
    public async Task TryCountDownload_ExpiredOrUnknownOrRevoked_CountsNothing()
    {
        var expiring = await CreatedAsync();
        var revoked = await CreatedAsync();
        await Packages.RevokeAsync(revoked.PackageId, CancellationToken.None);
        Clock.Advance(Lifetime);

        Assert.That(await Packages.TryCountDownloadAsync(expiring.PackageId, [0], CancellationToken.None), Is.False, "expired at its expiry time, even before retention marks it");
        Assert.That(await Packages.TryCountDownloadAsync(revoked.PackageId, [0], CancellationToken.None), Is.False);
        Assert.That(await Packages.TryCountDownloadAsync("pk_0000000000000000", [0], CancellationToken.None), Is.False);
        Assert.That((await Packages.FilesAsync(expiring.PackageId, CancellationToken.None)).Select(f => f.DownloadCount), Is.All.Zero);
    }

    [Test]
    public async Task Revoke_ActivePackage_RevokedOnceAndItsSessionsEnd()
    {
        var made = await CreatedAsync();
        var other = await CreatedAsync();
        var session = await Sessions.CreateSessionAsync(made.PackageId, CancellationToken.None);
        var otherSession = await Sessions.CreateSessionAsync(other.PackageId, CancellationToken.None);

        Assert.That(await Packages.RevokeAsync(made.PackageId, CancellationToken.None), Is.True);
        Assert.That(await Packages.RevokeAsync(made.PackageId, CancellationToken.None), Is.False, "already revoked");
        Assert.That(await Packages.RevokeAsync("pk_0000000000000000", CancellationToken.None), Is.False, "unknown");

        var row = (await Packages.FindAsync(made.PackageId, CancellationToken.None))!;
        Assert.That(row.State, Is.EqualTo(PackageStates.Revoked));
        Assert.That(row.RevokedAt, Is.EqualTo(Clock.GetUtcNow().ToUnixTimeMilliseconds()));
        Assert.That(await Sessions.IsSessionValidAsync(made.PackageId, session, CancellationToken.None), Is.False, "a revocation signs the recipient out at once");
        Assert.That(await Sessions.IsSessionValidAsync(other.PackageId, otherSession, CancellationToken.None), Is.True, "only that package's sessions");
    }

    [Test]
    public async Task ExpireDue_PastExpiry_MarksThemExpiredOnceAndReturnsThem()
    {
        var expiring = await CreatedAsync();
        Clock.Advance(TimeSpan.FromDays(1));
        var later = await CreatedAsync();
        Clock.Advance(Lifetime - TimeSpan.FromDays(1));

        Assert.That(await Packages.ExpireDueAsync(CancellationToken.None), Has.Count.EqualTo(1).And.Some.Property(nameof(PickupPackage.PackageId)).EqualTo(expiring.PackageId),
            "due at its expiry time; the later one is not");
        Assert.That((await Packages.FindAsync(expiring.PackageId, CancellationToken.None))!.State, Is.EqualTo(PackageStates.Expired));
        Assert.That((await Packages.FindAsync(later.PackageId, CancellationToken.None))!.State, Is.EqualTo(PackageStates.Active));
        Assert.That(await Packages.ExpireDueAsync(CancellationToken.None), Is.Empty, "each expiry is reported (and audited) once");
    }

    [Test]
    public async Task Purgeable_ListsExpiredRevokedAndUsedUp_NotActiveOrAlreadyPurged()
    {
        var active = await CreatedAsync(files: 1);
        var usedUp = await CreatedAsync(files: 1);
        for (var i = 0; i < MaxDownloads; i++) await Packages.TryCountDownloadAsync(usedUp.PackageId, [0], CancellationToken.None);
        var revoked = await CreatedAsync(files: 1);
        await Packages.RevokeAsync(revoked.PackageId, CancellationToken.None);
        var purged = await CreatedAsync(files: 1);
        await Packages.RevokeAsync(purged.PackageId, CancellationToken.None);
        await Packages.PurgeAsync(purged.PackageId, CancellationToken.None);

        Assert.That(await Packages.PurgeableAsync(CancellationToken.None), Is.EquivalentTo(new[] { usedUp.PackageId, revoked.PackageId }));

        Clock.Advance(Lifetime);
        Assert.That(await Packages.PurgeableAsync(CancellationToken.None), Is.EquivalentTo(new[] { active.PackageId, usedUp.PackageId, revoked.PackageId }),
            "past its expiry, even before it is marked Expired");
    }

    [Test]
    public async Task Purge_ForgetsKeyNamesLabelCodesAndSessions_KeepsTheRecord()
    {
        var made = await CreatedAsync(files: 3, label: new SealedPickupLabel("abc@practice.example", [1, 2]));
        var kept = await CreatedAsync(files: 1, label: new SealedPickupLabel("def@practice.example", [3]));
        var session = await Sessions.CreateSessionAsync(made.PackageId, CancellationToken.None);
        var purgedAt = Clock.GetUtcNow().ToUnixTimeMilliseconds();

        Assert.That(await Packages.PurgeAsync(made.PackageId, CancellationToken.None), Is.EqualTo(3), "the file count, for deleting the files");
        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.That(await Packages.PurgeAsync(made.PackageId, CancellationToken.None), Is.EqualTo(3), "a second purge (crash before the files went) is harmless");

        var row = (await Packages.FindAsync(made.PackageId, CancellationToken.None))!;
        Assert.That(row.WrappedKey, Is.Null, "the key is gone: the content is unreadable");
        Assert.That(row.PurgedAt, Is.EqualTo(purgedAt), "the first purge time stays");
        Assert.That(row.Availability(Clock.GetUtcNow()), Is.EqualTo(PackageAvailability.Removed));
        Assert.That((await Packages.FilesAsync(made.PackageId, CancellationToken.None)).Select(f => f.SealedName).ToList(), Has.Count.EqualTo(3).And.All.Null,
            "the file rows stay for the record, their names go with the key");
        var labels = await Packages.LabelsAsync(CancellationToken.None);
        Assert.That(labels.ContainsKey(made.PackageId), Is.False, "the subject does not outlive the files");
        Assert.That(labels.ContainsKey(kept.PackageId), Is.True);
        Assert.That(await Sessions.IsSessionValidAsync(made.PackageId, session, CancellationToken.None), Is.False);
        Assert.That(await Packages.TryCountDownloadAsync(made.PackageId, [0], CancellationToken.None), Is.False, "nothing to download");

        Assert.That(await Packages.UnpurgedIdsAsync(CancellationToken.None), Is.EquivalentTo(new[] { kept.PackageId }));
        Assert.That(await Packages.PurgeAsync("pk_0000000000000000", CancellationToken.None), Is.Null, "unknown package");
    }

    private static bool SameFile(StoredPickupFile a, StoredPickupFile b) =>
        (a.Index, a.ContentType, a.Size, a.Sha256, a.DownloadCount) == (b.Index, b.ContentType, b.Size, b.Sha256, b.DownloadCount)
        && (a.SealedName ?? []).AsSpan().SequenceEqual(b.SealedName ?? []) && (a.SealedName is null) == (b.SealedName is null);
}
