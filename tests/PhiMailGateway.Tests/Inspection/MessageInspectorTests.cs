using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class MessageInspectorTests
{
    private static readonly InspectionOptions Options = new();

    private static Task<InspectionReport> Inspect(MimeMessage message) => Inspect(message.ToBytes());

    private static async Task<InspectionReport> Inspect(byte[] raw, InspectionOptions? options = null)
    {
        using var stream = new MemoryStream(raw);
        return await new MessageInspector(options ?? Options).InspectAsync(stream, CancellationToken.None);
    }

    private static string Describe(InspectionReport report) =>
        string.Join("\n", report.Findings.Select(f => $"{f.Path}: {f.Kind} {f.Format} {f.Width}x{f.Height} {f.FailClosedReason}"));

    private static InspectionFinding Single(InspectionReport report, ImageKind kind)
    {
        var found = report.Findings.Where(f => f.Kind == kind).ToList();
        Assert.That(found, Has.Count.EqualTo(1), Describe(report));
        return found[0];
    }

    // ------------------------------------------------------------------ positives

    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    public async Task MessageInspector_DicomAttachment_DicomWithPatientTags(bool explicitVr, bool preamble)
    {
        var report = await Inspect(DentalCorpus.WithAttachments(("xray.dcm", DentalCorpus.Dicom(explicitVr, preamble), "application/dicom")));
        var finding = Single(report, ImageKind.Dicom);
        Assert.Multiple(() =>
        {
            Assert.That(report.HasDentalImage, Is.True);
            Assert.That(finding.Dicom!.Tags.PatientName, Is.EqualTo(DentalCorpus.PatientName));
            Assert.That(finding.Dicom.Tags.PatientId, Is.EqualTo(DentalCorpus.PatientId));
            Assert.That(finding.FailClosedReason, Is.Null);
            Assert.That(finding.Sha256, Has.Length.EqualTo(64));
            Assert.That(finding.PartSpecifier, Is.EqualTo("2"));
            Assert.That(finding.TopLevelPartIndex, Is.EqualTo(1));
            Assert.That(finding.Path, Does.Contain("xray.dcm"));
        });
    }

    [Test]
    public async Task MessageInspector_GrayscalePanoramicJpeg_Radiograph()
    {
        var finding = Single(await Inspect(DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg"))), ImageKind.Radiograph);
        Assert.That((finding.Width, finding.Height, finding.Components), Is.EqualTo(((int?)2000, (int?)1000, (int?)1)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task MessageInspector_Tiff16_Radiograph(bool bigEndian) =>
        Single(await Inspect(DentalCorpus.WithAttachments(("bw.tif", DentalCorpus.Tiff16(bigEndian: bigEndian), "image/tiff"))), ImageKind.Radiograph);

    [Test]
    public async Task MessageInspector_ColourPhoto_ClinicalPhoto() =>
        Single(await Inspect(DentalCorpus.WithAttachments(("smile.jpg", DentalCorpus.IntraoralPhotoJpeg(), "image/jpeg"))), ImageKind.ClinicalPhoto);

    [Test]
    public async Task MessageInspector_StlBinaryAndAscii_Scan3D()
    {
        var report = await Inspect(DentalCorpus.WithAttachments(
            ("lower.stl", DentalCorpus.StlBinary(), "application/octet-stream"), ("upper.stl", DentalCorpus.StlAscii(), "model/stl")));
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Scan3D), Is.EqualTo(2), Describe(report));
    }

    [Test]
    public async Task MessageInspector_ZipOfXrays_FindsEachEntryUnderTheZipAttachment()
    {
        var report = await Inspect(DentalCorpus.WithAttachments(("xrays.zip", DentalCorpus.ZipOfXrays(), "application/zip")));
        var dicom = Single(report, ImageKind.Dicom);
        var pano = Single(report, ImageKind.Radiograph);
        Assert.Multiple(() =>
        {
            Assert.That(dicom.Path, Is.EqualTo("part 2 (xrays.zip) > bitewing-left.dcm"));
            Assert.That(pano.PartSpecifier, Is.EqualTo("2"), "Protection acts on the zip attachment as a whole");
            Assert.That(report.Kinds, Is.EqualTo(new[] { ImageKind.Dicom, ImageKind.Radiograph }));
            Assert.That(report.FailedClosed, Is.Empty, Describe(report));
        });
    }

    [Test]
    public async Task MessageInspector_TnefCarryingDicom_Dicom()
    {
        var tnef = DentalCorpus.Tnef(("xray.dcm", DentalCorpus.Dicom()));
        var report = await Inspect(DentalCorpus.WithAttachments(("winmail.dat", tnef, "application/ms-tnef")));
        var finding = Single(report, ImageKind.Dicom);
        Assert.Multiple(() =>
        {
            Assert.That(finding.Path, Is.EqualTo("part 2 (winmail.dat) > xray.dcm"));
            Assert.That(finding.Dicom!.Tags.PatientId, Is.EqualTo(DentalCorpus.PatientId));
            Assert.That(report.FailedClosed, Is.Empty, Describe(report));
        });
    }

    [Test]
    public async Task MessageInspector_ForwardedMessageWithXray_AnchoredOnTheAttachedMessage()
    {
        var inner = DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg"));
        var report = await Inspect(DentalCorpus.Forwarding(inner));
        var finding = Single(report, ImageKind.Radiograph);
        Assert.Multiple(() =>
        {
            Assert.That(finding.PartSpecifier, Is.EqualTo("2"), "the message/rfc822 part of the outer message");
            Assert.That(finding.Path, Is.EqualTo("part 2 (attached message) > part 2 (pano.jpg)"));
        });
    }

    [Test]
    public async Task MessageInspector_XrayPastedInlineInHtml_RadiographNotDecoration()
    {
        var report = await Inspect(DentalCorpus.WithInlineImage(DentalCorpus.PanoramicJpeg(), "image001.jpg", "image/jpeg"));
        Single(report, ImageKind.Radiograph);
        Assert.That(report.Findings.Any(f => f.Kind == ImageKind.Decoration), Is.False);
    }

    [Test]
    public async Task MessageInspector_JpegNamedScanDatAsOctetStream_ContentDecides() =>
        Single(await Inspect(DentalCorpus.WithAttachments(("scan.dat", DentalCorpus.PanoramicJpeg(), "application/octet-stream"))), ImageKind.Radiograph);

    [Test]
    public async Task MessageInspector_ProprietaryExtension_ProprietaryImaging()
    {
        var report = await Inspect(DentalCorpus.WithAttachments(("case.rvg", [1, 2, 3, 4, 5, 6, 7, 8], "application/octet-stream")));
        Single(report, ImageKind.ProprietaryImaging);
    }

    // ------------------------------------------------------------------ negatives

    [Test]
    public async Task MessageInspector_SignatureLogoInline_DecorationNotProtected()
    {
        var report = await Inspect(DentalCorpus.WithInlineImage(DentalCorpus.SignatureLogoPng(), "logo.png", "image/png"));
        Single(report, ImageKind.Decoration);
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [Test]
    public async Task MessageInspector_Negatives_NothingProtected()
    {
        var pdf = System.Text.Encoding.ASCII.GetBytes("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n");
        var csv = System.Text.Encoding.ASCII.GetBytes("patient,tooth,date\nTEST-0001,14,2024-01-02\n");
        var report = await Inspect(DentalCorpus.WithAttachments(("letter.pdf", pdf, "application/pdf"), ("recall.csv", csv, "text/csv"), ("notes.txt", "plain text"u8.ToArray(), "text/plain")));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
        Assert.That(report.Findings.Select(f => f.Format), Is.SupersetOf(new[] { "PDF", "Text" }));
    }

    [Test]
    public async Task MessageInspector_PlainTextMessage_NoDentalImage()
    {
        var message = DentalCorpus.Message("Appointment [secure]");
        message.Headers.Add("Sensitivity", "Company-Confidential");
        var report = await Inspect(message);
        Assert.That(report.HasDentalImage, Is.False);
    }

    [Test]
    public async Task MessageInspector_ProtectedKindsOnlyDicom_PhotoNoLongerCounts()
    {
        var raw = DentalCorpus.WithAttachments(("smile.jpg", DentalCorpus.IntraoralPhotoJpeg(), "image/jpeg")).ToBytes();
        var report = await Inspect(raw, new InspectionOptions { ProtectedKinds = ["Dicom"] });
        Assert.That(report.HasDentalImage, Is.False);
        Assert.That(report.Findings.Any(f => f.Kind == ImageKind.ClinicalPhoto), Is.True, "still reported for the dry run");
    }

    // ------------------------------------------------------------------ hostile input: fail closed

    private static void AssertFailsClosed(InspectionReport report, string reasonFragment)
    {
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
        Assert.That(report.FailedClosed.Select(f => f.FailClosedReason), Has.Some.Contains(reasonFragment), Describe(report));
    }

    [Test]
    public async Task MessageInspector_TruncatedDicom_FailsClosed() =>
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("xray.dcm", DentalCorpus.Dicom()[..400], "application/dicom"))), "DICOM header damaged");

    [Test]
    public async Task MessageInspector_DicomWithFourGigabyteLength_FailsClosed() =>
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("xray.dcm", DentalCorpus.Dicom(hostileLength: true), "application/dicom"))), "runs past the end");

    // GC.GetTotalAllocatedBytes counts the whole process: alone, so only this test's allocations count.
    [Test]
    [NonParallelizable]
    public async Task MessageInspector_ZipBomb_FailsClosedWithoutInflating()
    {
        var raw = DentalCorpus.WithAttachments(("bomb.zip", DentalCorpus.ZipBomb(), "application/zip")).ToBytes();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var report = await Inspect(raw);
        AssertFailsClosed(report, "compression ratio");
        Assert.That(GC.GetTotalAllocatedBytes(precise: true) - before, Is.LessThan(12L << 20), "the 16 MiB entry was never inflated");
    }

    [Test]
    public async Task MessageInspector_ZipWithTenThousandEntries_FailsClosed() =>
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("many.zip", DentalCorpus.ZipWithManyEntries(), "application/zip"))), "more than 1000 entries");

    [Test]
    public async Task MessageInspector_ZipNestedPastDepth_FailsClosed()
    {
        var zip = DentalCorpus.Zip(("x.dcm", DentalCorpus.Dicom()));
        for (var i = 0; i < 4; i++) zip = DentalCorpus.Zip(($"level{i}.zip", zip));
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("deep.zip", zip, "application/zip"))), "archive nesting deeper");
    }

    [Test]
    public async Task MessageInspector_TwoHundredLevelMultipart_FailsClosed() =>
        AssertFailsClosed(await Inspect(DentalCorpus.DeeplyNested(200)), "MIME nesting deeper");

    [Test]
    public async Task MessageInspector_TnefGarbage_FailsClosed()
    {
        var garbage = new byte[4096];
        new Random(4).NextBytes(garbage);
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("winmail.dat", garbage, "application/ms-tnef"))), "declared as application/ms-tnef");
    }

    [Test]
    public async Task MessageInspector_TnefSignatureThenGarbage_FailsClosed()
    {
        var garbage = new byte[4096];
        new Random(5).NextBytes(garbage);
        BitConverter.GetBytes(0x223E9F78u).CopyTo(garbage, 0);
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("winmail.dat", garbage, "application/ms-tnef"))), "TNEF");
    }

    [Test]
    public async Task MessageInspector_DeclaredImageUnrecognised_FailsClosed() =>
        AssertFailsClosed(await Inspect(DentalCorpus.WithAttachments(("xray.jpg", new byte[2048], "image/jpeg"))), "declared as image/jpeg");

    [Test]
    public async Task MessageInspector_NotMimeAtAll_DoesNotThrow()
    {
        var report = await Inspect([]);
        Assert.That(report.HasDentalImage, Is.True, "an unparseable message fails closed");
    }

    // ------------------------------------------------------------------ references and memory

    [Test]
    public async Task MessageInspector_PartSpecifiers_MatchMimeIterator()
    {
        var message = DentalCorpus.WithInlineImage(DentalCorpus.PanoramicJpeg(), "image001.jpg", "image/jpeg");
        var report = await Inspect(message);
        var finding = Single(report, ImageKind.Radiograph);
        using var iterator = new MimeIterator(MimeMessage.Load(new MemoryStream(message.ToBytes())));
        string? found = null;
        while (iterator.MoveNext())
            if (iterator.Current is MimePart { FileName: "image001.jpg" }) found = iterator.PathSpecifier;
        Assert.That(finding.PartSpecifier, Is.EqualTo(found));
    }

    // GC.GetTotalAllocatedBytes counts the whole process: alone, so only this test's allocations count.
    [Test]
    [NonParallelizable]
    public async Task MessageInspector_LargeAttachmentFromFile_StreamedNotLoaded()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "big.eml");
        var big = new byte[30 << 20];
        new Random(1).NextBytes(big);
        DentalCorpus.PanoramicJpeg().CopyTo(big, 0);
        await using (var file = File.Create(path)) DentalCorpus.WithAttachments(("big.jpg", big, "image/jpeg")).WriteTo(file);
        big = null;
        GC.Collect();

        var before = GC.GetTotalAllocatedBytes(precise: true);
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var report = await new MessageInspector(Options, dir.Path).InspectAsync(stream, CancellationToken.None);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.That(Single(report, ImageKind.Radiograph).Size, Is.EqualTo(30 << 20));
        Assert.That(allocated, Is.LessThan(20L << 20), "a 30 MiB attachment is never held in memory whole");
    }
}
