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

        var live = store.Blobs.ExistingFiles(delivery.PackageId).Single();
        File.SetLastWriteTimeUtc(live, twoHoursAgo);
        var oldOrphan = store.Blobs.PackageFile("pk_00000000000000aa", 0);
        await File.WriteAllBytesAsync(oldOrphan, [1, 2, 3]);
        File.SetLastWriteTimeUtc(oldOrphan, twoHoursAgo);
        var beingWritten = store.Blobs.PackageFile("pk_00000000000000bb", 0);
        await File.WriteAllBytesAsync(beingWritten, [1, 2, 3]);

        Assert.That(await store.RemoveOrphansAsync(CancellationToken.None), Is.EqualTo(1));
        Assert.That(File.Exists(oldOrphan), Is.False, "old file without a package row");
        Assert.That(File.Exists(live), Is.True, "file of a live package");
        Assert.That(File.Exists(beingWritten), Is.True, "new file whose row may not be committed yet");
    }
}
