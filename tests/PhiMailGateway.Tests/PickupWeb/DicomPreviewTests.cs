using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

public class DicomPreviewTests
{
    [Test]
    public void DicomPreview_EveryTruncationOfAFile_NoPreviewAndNoException()
    {
        var file = DentalCorpus.DicomWithPicture(20, 30);
        Assert.That(DicomPreview.TryRender(file), Is.Not.Null, "the whole file renders");
        for (var n = 0; n < file.Length; n++)
            Assert.That(DicomPreview.TryRender(file.AsSpan(0, n)), Is.Null, $"cut at {n} bytes");
    }

    [Test]
    public void DicomPreview_HostileLengthOrNoPixels_NoPreview()
    {
        Assert.That(DicomPreview.TryRender(DentalCorpus.Dicom(hostileLength: true)), Is.Null);
        Assert.That(DicomPreview.CanRender(DentalCorpus.Dicom()), Is.False, "256 bytes of pixels for a 1500×1000 image");
        Assert.That(DicomPreview.TryRender(DentalCorpus.Dicom(preamble: false)), Is.Null, "a raw dataset without the Part 10 header is not previewed");
    }

    [Test]
    public void DicomPreview_LargeImage_SampledDownToTheMaximumSide()
    {
        var preview = DicomPreview.TryRender(DentalCorpus.DicomWithPicture(1500, 2100))!;
        var (width, height, _) = PickupRecipientPartsTests.Png(preview.Content);
        Assert.That(Math.Max(width, height), Is.LessThanOrEqualTo(DicomPreview.MaxSide));
        Assert.That((width, height), Is.EqualTo((700, 500)), "every third pixel of 2100 × 1500");
    }
}
