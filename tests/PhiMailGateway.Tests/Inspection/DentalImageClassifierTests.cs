using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// The verdict from what the bytes say: each threshold on both sides, and every way a part that
/// cannot be read with certainty becomes Unknown (invariant 3).
/// </summary>
public class DentalImageClassifierTests
{
    private static readonly DentalImageClassifier Classifier = new(new InspectionOptions());

    private static SniffResult Raster(int width, int height, bool? grayscale, string format = "PNG") =>
        new() { Family = ContentFamily.Raster, Format = format, Width = width, Height = height, Grayscale = grayscale };

    private static ImageKind KindOf(SniffResult sniff, long size = 500_000, string? name = "x.bin", string? type = "application/octet-stream", bool cid = false) =>
        Classifier.Classify(sniff, size, name, type, cid).Kind;

    [TestCase(200, 200, ImageKind.Radiograph)]
    [TestCase(199, 201, ImageKind.None)]
    [TestCase(400, 100, ImageKind.Radiograph)]
    public void Classify_GrayscaleRaster_RadiographFromTheMinimumPixelsUp(int width, int height, ImageKind expected)
    {
        Assert.That(KindOf(Raster(width, height, grayscale: true)), Is.EqualTo(expected), $"{width}x{height} against 40,000 pixels");
    }

    [TestCase(200, 200, true, ImageKind.ClinicalPhoto)]
    [TestCase(199, 201, true, ImageKind.None)]
    [TestCase(200, 200, false, ImageKind.ClinicalPhoto)]
    [TestCase(199, 201, false, ImageKind.None)]
    public void Classify_ColourOrUnsaidRaster_ClinicalPhotoFromTheMinimumPixelsUp(int width, int height, bool unsaid, ImageKind expected)
    {
        Assert.That(KindOf(Raster(width, height, grayscale: unsaid ? null : false)), Is.EqualTo(expected));
    }

    [Test]
    public void Classify_OwnThresholds_AreTheOnesConfigured()
    {
        var strict = new DentalImageClassifier(new InspectionOptions { RadiographMinPixels = 100, ClinicalPhotoMinPixels = 200 });
        Assert.That(strict.Classify(Raster(10, 10, true), 1000, null, null, false).Kind, Is.EqualTo(ImageKind.Radiograph));
        Assert.That(strict.Classify(Raster(10, 10, false), 1000, null, null, false).Kind, Is.EqualTo(ImageKind.None));
        Assert.That(strict.Classify(Raster(10, 20, false), 1000, null, null, false).Kind, Is.EqualTo(ImageKind.ClinicalPhoto));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Classify_RasterWithoutDimensions_CountsAsLarge(bool grayscale)
    {
        var sniff = new SniffResult { Family = ContentFamily.Raster, Format = "JPEG", Grayscale = grayscale };
        Assert.That(KindOf(sniff), Is.EqualTo(grayscale ? ImageKind.Radiograph : ImageKind.ClinicalPhoto), "unknown size never makes an image small");
        Assert.That(KindOf(sniff with { Width = 0, Height = 5000 }), Is.EqualTo(grayscale ? ImageKind.Radiograph : ImageKind.ClinicalPhoto), "nor does a zero width");
    }

    [TestCase(200, 200, 20 * 1024, true, ImageKind.Decoration)]
    [TestCase(200, 200, 20 * 1024 + 1, true, ImageKind.ClinicalPhoto)]
    [TestCase(200, 201, 20 * 1024, true, ImageKind.ClinicalPhoto)]
    [TestCase(200, 200, 20 * 1024, false, ImageKind.ClinicalPhoto)]
    [TestCase(32, 32, 2000, true, ImageKind.Decoration)]
    [TestCase(32, 32, 2000, false, ImageKind.None)]
    public void Classify_InlineImage_DecorationOnlyWhenSmallInBytesAndPixelsAndReferencedByCid(int width, int height, long size, bool cid, ImageKind expected)
    {
        Assert.That(KindOf(Raster(width, height, grayscale: false), size, "logo.png", "image/png", cid), Is.EqualTo(expected));
    }

    [Test]
    public void Classify_InlineImageWithoutDimensions_IsNotADecoration()
    {
        var sniff = new SniffResult { Family = ContentFamily.Raster, Format = "JPEG", Grayscale = false };
        Assert.That(KindOf(sniff, 1000, "logo.jpg", "image/jpeg", cid: true), Is.EqualTo(ImageKind.ClinicalPhoto), "a logo must prove it is small");
    }

    [Test]
    public void Classify_SmallRasterWithAProprietaryName_IsProprietaryImaging()
    {
        Assert.That(KindOf(Raster(16, 16, true), name: "sensor.rvg"), Is.EqualTo(ImageKind.ProprietaryImaging));
        Assert.That(KindOf(Raster(16, 16, true), name: "SENSOR.RVG"), Is.EqualTo(ImageKind.ProprietaryImaging), "extensions compare ignoring case");
        Assert.That(KindOf(Raster(400, 400, true), name: "sensor.rvg"), Is.EqualTo(ImageKind.Radiograph), "what the bytes say comes first");
    }

    [Test]
    public void Classify_RasterWhoseHeaderFailed_UnknownWithTheReason()
    {
        var sniff = new SniffResult { Family = ContentFamily.Raster, Format = "TIFF", Error = "BigTIFF headers are not read" };
        Assert.That(Classifier.Classify(sniff, 1000, "a.tif", "image/tiff", false), Is.EqualTo((ImageKind.Unknown, (string?)"TIFF header could not be read: BigTIFF headers are not read")));
    }

    [Test]
    public void Classify_Dicom_AlwaysDicomAndFailsClosedOnlyWhenDamaged()
    {
        var tags = new DicomTags();
        var sound = new SniffResult { Family = ContentFamily.Dicom, Format = "DICOM", Dicom = new DicomHeader { HasPreamble = true, Tags = tags, Complete = false, IncompleteReason = "scan limit" } };
        var damaged = sound with { Dicom = sound.Dicom! with { Damaged = true, IncompleteReason = "truncated element" } };
        Assert.That(Classifier.Classify(sound, 10, null, null, false), Is.EqualTo((ImageKind.Dicom, (string?)null)), "incomplete but not damaged: the tags are simply further on");
        Assert.That(Classifier.Classify(damaged, 10, null, null, false), Is.EqualTo((ImageKind.Dicom, (string?)"DICOM header damaged: truncated element")));
    }

    [Test]
    public void Classify_Mesh_IsAScan()
    {
        Assert.That(KindOf(new SniffResult { Family = ContentFamily.Mesh, Format = "STL (binary)" }), Is.EqualTo(ImageKind.Scan3D));
    }

    [Test]
    public void Classify_OpaqueContainer_UnknownWithItsErrorOrWhyNot()
    {
        var sevenZip = new SniffResult { Family = ContentFamily.Opaque, Format = "7z" };
        Assert.That(Classifier.Classify(sevenZip, 10, "a.7z", null, false), Is.EqualTo((ImageKind.Unknown, (string?)"7z content cannot be looked inside")));
        Assert.That(Classifier.Classify(sevenZip with { Error = "encrypted" }, 10, "a.7z", null, false), Is.EqualTo((ImageKind.Unknown, (string?)"encrypted")));
    }

    [TestCase(ContentFamily.Archive)]
    [TestCase(ContentFamily.Tnef)]
    [TestCase(ContentFamily.Compressed)]
    [TestCase(ContentFamily.Tar)]
    [TestCase(ContentFamily.Pdf)]
    [TestCase(ContentFamily.Rtf)]
    [TestCase(ContentFamily.Message)]
    public void Classify_Container_NothingItselfUnlessNamedLikeAnImagingProgramsFile(ContentFamily family)
    {
        var sniff = new SniffResult { Family = family, Format = family.ToString() };
        Assert.That(Classifier.Classify(sniff, 10, "scan.jpg", "image/jpeg", false), Is.EqualTo((ImageKind.None, (string?)null)),
            "its contents get findings of their own");
        Assert.That(KindOf(sniff, name: "case.3oxz"), Is.EqualTo(ImageKind.ProprietaryImaging));
    }

    [TestCase("image/jpeg", "x.bin", "declared as image/jpeg but the content is not a recognised format (Binary)")]
    [TestCase("IMAGE/x-custom", "x.bin", "declared as IMAGE/x-custom but the content is not a recognised format (Binary)")]
    [TestCase("application/dicom", null, "declared as application/dicom but the content is not a recognised format (Binary)")]
    [TestCase("application/zip", null, "declared as application/zip but the content is not a recognised format (Binary)")]
    [TestCase("application/octet-stream", "bitewing.DCM", "declared as a .DCM file but the content is not a recognised format (Binary)")]
    [TestCase(null, "pano.jpeg", "declared as a .jpeg file but the content is not a recognised format (Binary)")]
    [TestCase("image/svg+xml", "scan.stl", "declared as a .stl file but the content is not a recognised format (Binary)")]
    public void Classify_UnrecognisedContentDeclaredAsAnImage_UnknownSayingWhatItClaimed(string? type, string? name, string reason)
    {
        Assert.That(Classifier.Classify(SniffResult.Other("Binary"), 1000, name, type, false), Is.EqualTo((ImageKind.Unknown, (string?)reason)));
    }

    /// <summary>
    /// Every file extension an X-ray, photo or scan travels under: content that does not match the
    /// claim is held as Unknown, never relayed as harmless (a renamed or damaged image is still PHI).
    /// </summary>
    [TestCase(".dcm")]
    [TestCase(".dicom")]
    [TestCase(".dic")]
    [TestCase(".jpg")]
    [TestCase(".jpeg")]
    [TestCase(".jpe")]
    [TestCase(".png")]
    [TestCase(".tif")]
    [TestCase(".tiff")]
    [TestCase(".jp2")]
    [TestCase(".j2k")]
    [TestCase(".jpx")]
    [TestCase(".bmp")]
    [TestCase(".gif")]
    [TestCase(".webp")]
    [TestCase(".heic")]
    [TestCase(".heif")]
    [TestCase(".avif")]
    [TestCase(".stl")]
    [TestCase(".ply")]
    [TestCase(".obj")]
    public void Classify_UnrecognisedContentNamedLikeAnImage_UnknownForEveryImageExtension(string extension)
    {
        Assert.That(Classifier.Classify(SniffResult.Other("Binary"), 1000, "file" + extension.ToUpperInvariant(), "application/octet-stream", false),
            Is.EqualTo((ImageKind.Unknown, (string?)$"declared as a {extension.ToUpperInvariant()} file but the content is not a recognised format (Binary)")));
    }

    /// <summary>The declared types of DICOM, 3-D scans, TNEF and zip containers: the same, whatever the file is called.</summary>
    [TestCase("application/dicom")]
    [TestCase("application/dicom+json")]
    [TestCase("model/stl")]
    [TestCase("model/x.stl-binary")]
    [TestCase("model/x.stl-ascii")]
    [TestCase("application/sla")]
    [TestCase("application/vnd.ms-pki.stl")]
    [TestCase("model/obj")]
    [TestCase("model/ply")]
    [TestCase("application/ms-tnef")]
    [TestCase("application/vnd.ms-tnef")]
    [TestCase("application/zip")]
    [TestCase("application/x-zip-compressed")]
    public void Classify_UnrecognisedContentDeclaredAsAnImagingType_UnknownForEveryImagingType(string type)
    {
        Assert.That(Classifier.Classify(SniffResult.Other("Binary"), 1000, "attachment", type.ToUpperInvariant(), false),
            Is.EqualTo((ImageKind.Unknown, (string?)$"declared as {type.ToUpperInvariant()} but the content is not a recognised format (Binary)")));
    }

    [TestCase("image/svg+xml", "drawing.svg")]
    [TestCase("image/x-icon", "favicon.ico")]
    [TestCase("image/vnd.microsoft.icon", null)]
    [TestCase("text/plain", "notes.txt")]
    [TestCase(null, null)]
    [TestCase("application/octet-stream", "README")]
    public void Classify_UnrecognisedContentNotClaimingToBeAPhoto_None(string? type, string? name)
    {
        Assert.That(Classifier.Classify(SniffResult.Other("Text"), 1000, name, type, false), Is.EqualTo((ImageKind.None, (string?)null)));
    }

    [Test]
    public void Classify_UnrecognisedContentWithAProprietaryName_ProprietaryImaging()
    {
        Assert.That(Classifier.Classify(SniffResult.Other("Binary"), 1000, "patient.dentalproject", "image/jpeg", false), Is.EqualTo((ImageKind.ProprietaryImaging, (string?)null)));
        Assert.That(Classifier.IsProprietaryName(null), Is.False);
        Assert.That(Classifier.IsProprietaryName("notes.txt"), Is.False);
    }

    [Test]
    public void IsProtectedKind_Default_AllButNoneAndDecoration_UnknownAlways()
    {
        var protectedKinds = Enum.GetValues<ImageKind>().Where(Classifier.IsProtectedKind);
        Assert.That(protectedKinds, Is.EquivalentTo(new[]
        {
            ImageKind.Dicom, ImageKind.Radiograph, ImageKind.ClinicalPhoto, ImageKind.Scan3D, ImageKind.ProprietaryImaging, ImageKind.Unknown,
        }));
        var onlyDicom = new DentalImageClassifier(new InspectionOptions { ProtectedKinds = ["dicom"] });
        Assert.That(Enum.GetValues<ImageKind>().Where(onlyDicom.IsProtectedKind), Is.EquivalentTo(new[] { ImageKind.Dicom, ImageKind.Unknown }),
            "a shorter list never unprotects what could not be read");
    }
}
