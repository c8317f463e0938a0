using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Pickup;

public class PickupOrphanTests
{
    [Test]
    public async Task RemoveOrphans_DeletesOldFilesOfNoLivePackage_KeepsLiveAndFreshOnes()
    {
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.IntraoralPhotoJpeg()), "live@home.example");
        var store = bed.Store;
        var twoHoursAgo = DateTime.UtcNow.AddHours(-2);

        var live = store.ExistingFiles(delivery.PackageId).Single();
        File.SetLastWriteTimeUtc(live, twoHoursAgo);
        var oldOrphan = store.PackageFile("pk_00000000000000aa", 0);
        await File.WriteAllBytesAsync(oldOrphan, [1, 2, 3]);
        File.SetLastWriteTimeUtc(oldOrphan, twoHoursAgo);
        var beingWritten = store.PackageFile("pk_00000000000000bb", 0);
        await File.WriteAllBytesAsync(beingWritten, [1, 2, 3]);

        Assert.That(await store.RemoveOrphansAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(File.Exists(oldOrphan), Is.False, "old file without a package row");
        Assert.That(File.Exists(live), Is.True, "file of a live package");
        Assert.That(File.Exists(beingWritten), Is.True, "new file whose row may not be committed yet");
    }

    [Test]
    public async Task PackageInTheFolderLayoutOfOlderVersions_StillOpens_AndIsPurgedWithItsFolder()
    {
        await using var bed = await PickupTestBed.StartAsync();
        var image = DentalCorpus.IntraoralPhotoJpeg();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(image), "upgraded@home.example");
        var store = bed.Store;
        // As an older version stored it: pickup/<package>/<n>.pkg.
        var folder = Path.Combine(store.Root, delivery.PackageId);
        Directory.CreateDirectory(folder);
        File.Move(store.PackageFile(delivery.PackageId, 0), Path.Combine(folder, "0.pkg"));

        var package = await store.FindAsync(delivery.PackageId, CancellationToken.None);
        await using (var content = store.OpenFile(package!, 0))
        {
            var plain = new MemoryStream();
            await content.CopyToAsync(plain);
            Assert.That(plain.ToArray(), Is.EqualTo(image));
        }

        await store.PurgeAsync(delivery.PackageId, CancellationToken.None);
        Assert.That(Directory.Exists(folder), Is.False, "the old folder goes with the package");
    }
}
