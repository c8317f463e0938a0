using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>Compressed streams, tar, 7z/rar/OLE2 and RTF inside a message: what is found, and every fail-closed path.</summary>
public class MessageInspectorContainerTests
{
    private static async Task<InspectionReport> Inspect(string name, byte[] file, InspectionOptions? options = null)
    {
        using var stream = new MemoryStream(DentalCorpus.WithAttachments((name, file, "application/octet-stream")).ToBytes());
        return await new MessageInspector(options ?? new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
    }

    private static string Describe(InspectionReport report) =>
        string.Join("\n", report.Findings.Select(f => $"{f.Path}: {f.Kind} {f.Format} {f.Width}x{f.Height} {f.FailClosedReason}"));

    private static IReadOnlyList<InspectionFinding> FailedClosed(InspectionReport report) => report.Findings.Where(f => f.FailClosedReason is not null).ToList();

    private static void AssertFound(InspectionReport report, ImageKind kind, string pathPart)
    {
        Assert.That(report.Findings.Any(f => f.Kind == kind && f.Path.Contains(pathPart) && f.FailClosedReason is null), Is.True, $"a {kind} at {pathPart}:\n{Describe(report)}");
        Assert.That(FailedClosed(report), Is.Empty, $"nothing failed closed:\n{Describe(report)}");
    }

    private static void AssertFailedClosed(InspectionReport report, string reasonPart)
    {
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
        Assert.That(FailedClosed(report).Select(f => f.FailClosedReason), Has.Some.Contains(reasonPart), Describe(report));
    }

    private static byte[] Text(string s) => Encoding.ASCII.GetBytes(s);

    // ------------------------------------------------------------------ compressed streams

    [Test]
    public async Task MessageInspector_GzippedDicom_DicomInsideNamedWithoutTheGzExtension()
    {
        var report = await Inspect("xray.dcm.gz", ContainerFixtures.Gzip(DentalCorpus.Dicom()));
        AssertFound(report, ImageKind.Dicom, "(gzip content)");
    }

    [Test]
    public async Task MessageInspector_Bzip2XzZstdLzipRadiograph_RadiographInEach()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        AssertFound(await Inspect("a.bz2", ContainerFixtures.Bzip2(pano)), ImageKind.Radiograph, "(bzip2 content)");
        AssertFound(await Inspect("a.xz", ContainerFixtures.Xz(pano)), ImageKind.Radiograph, "(xz content)");
        AssertFound(await Inspect("a.zst", ContainerFixtures.Zstd(pano)), ImageKind.Radiograph, "(zstd content)");
        AssertFound(await Inspect("a.lz", ContainerFixtures.Lzip(pano)), ImageKind.Radiograph, "(lzip content)");
    }

    [Test]
    public async Task MessageInspector_GzippedText_NothingProtected()
    {
        var report = await Inspect("notes.txt.gz", ContainerFixtures.Gzip(Text(string.Concat(Enumerable.Repeat("recall list, nothing clinical\n", 50)))));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    // A wall-clock bound: alone, so other fixtures' work does not distort it.
    [Test]
    [NonParallelizable]
    public async Task MessageInspector_GzipBomb_FailsClosedWithoutInflatingIt()
    {
        var bomb = ContainerFixtures.Gzip(new byte[256 << 20]);

        var whole = await Inspect("bomb.gz", bomb);
        // Cut off its last quarter: a reader that inflated everything before checking the ratio would
        // meet the cut first and fail closed for that; one that checks while reading stops at the ratio.
        var cut = await Inspect("bomb.gz", bomb[..(bomb.Length * 3 / 4)]);

        AssertFailedClosed(whole, "Inspection:MaxCompressionRatio");
        AssertFailedClosed(cut, "Inspection:MaxCompressionRatio");
        Assert.That(FailedClosed(cut).Select(f => f.FailClosedReason), Has.All.Contains("Inspection:MaxCompressionRatio"), Describe(cut));
    }

    [Test]
    public async Task MessageInspector_GzipPastTheByteBudget_FailsClosed()
    {
        var report = await Inspect("big.gz", ContainerFixtures.Gzip(ContainerFixtures.Pixels(200_000, 3)), new InspectionOptions { MaxTotalUncompressedBytes = 100_000 });
        AssertFailedClosed(report, "Inspection:MaxTotalUncompressedBytes");
    }

    [Test]
    public async Task MessageInspector_TruncatedOrDamagedCompressedStreams_FailClosed()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        foreach (var (name, file) in new[] { ("a.gz", ContainerFixtures.Gzip(pano)), ("a.bz2", ContainerFixtures.Bzip2(pano)), ("a.xz", ContainerFixtures.Xz(pano)), ("a.zst", ContainerFixtures.Zstd(pano)) })
        {
            var truncated = await Inspect(name, file[..(file.Length / 2)]);
            Assert.That(truncated.HasDentalImage, Is.True, $"{name} truncated:\n{Describe(truncated)}");
            var damaged = (byte[])file.Clone();
            for (var i = 16; i < Math.Min(damaged.Length, 4096); i++) damaged[i] ^= 0x5A;
            var report = await Inspect(name, damaged);
            Assert.That(report.HasDentalImage, Is.True, $"{name} damaged:\n{Describe(report)}");
        }
    }

    [Test]
    public async Task MessageInspector_DataAfterTheEndOfAGzipOrXzStream_FailsClosed()
    {
        var hidden = DentalCorpus.PanoramicJpeg();
        AssertFailedClosed(await Inspect("a.gz", [.. ContainerFixtures.Gzip(Text("hello")), .. hidden]), "data after the end of the gzip stream");
        AssertFailedClosed(await Inspect("a.xz", [.. ContainerFixtures.Xz(Text("hello")), .. hidden]), "data after the end of the xz stream");
        // A few bytes only, and a fake trailer after them: the tail is read in small pieces and the real trailer must be last.
        var gzip = ContainerFixtures.Gzip(Text("hello"));
        AssertFailedClosed(await Inspect("b.gz", [.. gzip, .. hidden[..40], .. gzip[^8..]]), "data after the end of the gzip stream");
    }

    [Test]
    public async Task MessageInspector_GzipNestedPastTheArchiveDepth_FailsClosed()
    {
        var file = DentalCorpus.Dicom();
        for (var i = 0; i < 5; i++) file = ContainerFixtures.Gzip(file);
        AssertFailedClosed(await Inspect("deep.gz", file), "Inspection:MaxArchiveDepth");
    }

    // ------------------------------------------------------------------ tar

    [TestCase(TarEntryFormat.Ustar)]
    [TestCase(TarEntryFormat.Gnu)]
    [TestCase(TarEntryFormat.Pax)]
    public async Task MessageInspector_TarOfXrays_EachEntryFound(TarEntryFormat format)
    {
        var report = await Inspect("xrays.tar", ContainerFixtures.Tar(format, ("bitewing.dcm", DentalCorpus.Dicom()), ("pano.jpg", DentalCorpus.PanoramicJpeg()), ("notes.txt", Text("hello"))));
        AssertFound(report, ImageKind.Dicom, "bitewing.dcm");
        AssertFound(report, ImageKind.Radiograph, "pano.jpg");
    }

    [Test]
    public async Task MessageInspector_TarGz_EntriesFoundThroughBothLayers()
    {
        var report = await Inspect("case.tgz", ContainerFixtures.Gzip(ContainerFixtures.Tar(TarEntryFormat.Pax, ("case/bitewing.dcm", DentalCorpus.Dicom()))));
        AssertFound(report, ImageKind.Dicom, "(gzip content) > case/bitewing.dcm");
    }

    [Test]
    public async Task MessageInspector_TarWithTooManyEntries_FailsClosed()
    {
        var entries = Enumerable.Range(0, 20).Select(i => ($"f{i}.txt", Text("x"))).ToArray();
        AssertFailedClosed(await Inspect("many.tar", ContainerFixtures.Tar(TarEntryFormat.Ustar, entries), new InspectionOptions { MaxArchiveEntries = 10 }), "Inspection:MaxArchiveEntries");
    }

    [Test]
    public async Task MessageInspector_TarTruncatedOrWithDataAfterTheEnd_FailsClosed()
    {
        var tar = ContainerFixtures.Tar(TarEntryFormat.Ustar, ("pano.jpg", DentalCorpus.PanoramicJpeg()));
        Assert.That((await Inspect("cut.tar", tar[..2048])).HasDentalImage, Is.True, "a truncated tar");
        var notes = ContainerFixtures.Tar(TarEntryFormat.Ustar, ("notes.txt", Text("hello")));
        AssertFailedClosed(await Inspect("notes.tar", [.. notes, .. DentalCorpus.PanoramicJpeg()]), "data after the end of the tar archive");
    }

    [Test]
    public async Task MessageInspector_TarOfText_NothingProtected()
    {
        var report = await Inspect("notes.tar", ContainerFixtures.Tar(TarEntryFormat.Ustar, ("notes.txt", Text("hello")), ("recall.csv", Text("a,b\n1,2\n"))));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    // ------------------------------------------------------------------ formats we do not open

    [Test]
    public async Task MessageInspector_SevenZipRarOle2Cab_FailClosedNamingTheFormat()
    {
        var payload = Text("no image at all, still not looked inside");
        AssertFailedClosed(await Inspect("a.7z", ContainerFixtures.SevenZipStored(payload)), "7Z content cannot be looked inside");
        AssertFailedClosed(await Inspect("a.rar", ContainerFixtures.RarStored(payload)), "RAR content cannot be looked inside");
        AssertFailedClosed(await Inspect("a.doc", ContainerFixtures.Ole2(payload)), "OLE2 content cannot be looked inside");
        AssertFailedClosed(await Inspect("a.cab", [.. "MSCF"u8, 0, 0, 0, 0, .. payload]), "CAB content cannot be looked inside");
    }

    // ------------------------------------------------------------------ zip layouts

    [Test]
    public async Task MessageInspector_OrdinaryAndStreamedZips_LayoutAccepted()
    {
        AssertFound(await Inspect("xrays.zip", DentalCorpus.ZipOfXrays()), ImageKind.Dicom, "bitewing-left.dcm");
        AssertFound(await Inspect("streamed.zip", ContainerFixtures.StreamedZip(("pano.jpg", DentalCorpus.PanoramicJpeg()), ("notes.txt", Text("hello")))), ImageKind.Radiograph, "pano.jpg");
        var notes = await Inspect("notes.zip", ContainerFixtures.StreamedZip(("notes.txt", Text("hello")), ("b.txt", Text("bye"))));
        Assert.That(notes.HasDentalImage, Is.False, Describe(notes));
        var handmade = await Inspect("notes.zip", ContainerFixtures.HandmadeZip([("notes.txt", Text("hello"), true, null)], comment: Text("made by hand")));
        Assert.That(handmade.HasDentalImage, Is.False, Describe(handmade));
    }

    [Test]
    public async Task MessageInspector_ZipWithUnlistedEntryDisagreeingHeadersOrBinaryComment_FailsClosed()
    {
        var notes = Text("hello");
        AssertFailedClosed(await Inspect("a.zip", ContainerFixtures.HandmadeZip([("hidden.bin", notes, false, null), ("notes.txt", notes, true, null)])), "zip holds data that no listed entry covers");
        AssertFailedClosed(await Inspect("b.zip", ContainerFixtures.HandmadeZip([("notes.txt", notes, true, null), ("hidden.bin", notes, false, null)])), "zip holds data that no listed entry covers");
        AssertFailedClosed(await Inspect("c.zip", ContainerFixtures.HandmadeZip([("notes.txt", notes, true, "pano.jpg")])), "zip local header disagrees with the central directory");
        AssertFailedClosed(await Inspect("d.zip", ContainerFixtures.HandmadeZip([("notes.txt", notes, true, null)], comment: [0xFF, 0xD8, 0xFF, 0x00, 0x01])), "zip comment holds binary data");
    }

    [Test]
    public async Task MessageInspector_ZipWhoseOffsetsPointOutsideTheFile_FailsClosedForThatPartOnly()
    {
        var zip = ContainerFixtures.HandmadeZip([("notes.txt", Text("hello"), true, null)]);
        // The local header's name length now runs far past the end of the file.
        zip[26] = 0xFF;
        zip[27] = 0xFF;
        var report = await Inspect("broken.zip", zip);
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
        Assert.That(FailedClosed(report).Select(f => f.FailClosedReason!), Has.None.Contains("inspection failed"), "the zip part fails closed, not the whole walk");
    }

    // ------------------------------------------------------------------ Office and RTF

    [Test]
    public async Task MessageInspector_DocxWithMediaRadiograph_RadiographAtItsMediaPath()
    {
        var docx = ContainerFixtures.Ooxml("word/document.xml", ("word/media/image1.jpeg", DentalCorpus.PanoramicJpeg()));
        AssertFound(await Inspect("referral.docx", docx), ImageKind.Radiograph, "word/media/image1.jpeg");
    }

    [Test]
    public async Task MessageInspector_RtfWithJpegPicture_Radiograph()
    {
        AssertFound(await Inspect("referral.rtf", ContainerFixtures.RtfWithPicture(DentalCorpus.PanoramicJpeg())), ImageKind.Radiograph, "RTF picture 1");
    }

    [Test]
    public async Task MessageInspector_RtfWithoutPictures_NothingProtected()
    {
        var report = await Inspect("letter.rtf", Text(@"{\rtf1\ansi{\fonttbl{\f0 Calibri;}}\pard Dear colleague, see you Tuesday.\par}"));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [Test]
    public async Task MessageInspector_RtfMetafileObjectOrBinary_FailsClosed()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        AssertFailedClosed(await Inspect("a.rtf", ContainerFixtures.RtfWithPicture(pano, "emfblip")), "RTF picture in a format that is not read (emfblip)");
        AssertFailedClosed(await Inspect("b.rtf", ContainerFixtures.RtfWithPicture(pano, destination: "objdata")), "RTF with an embedded object");
        AssertFailedClosed(await Inspect("c.rtf", Text(@"{\rtf1{\pict\pngblip\bin4 abcd}}")), @"binary data (\bin)");
        AssertFailedClosed(await Inspect("d.rtf", Text(@"{\rtf1{\pict\jpegblip ffd8ffzz}}")), "RTF picture data is not hex");
    }
}
