using System.IO.Compression;
using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.Inspection.FailClosed;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// Each bound of the MIME walk at its edge: the last value that is still walked as usual and the
/// first that fails closed (MIME depth, archive depth, entry count, byte budget, compression ratio),
/// one boundary per case. Found by mutation testing of MessageInspector*.cs (tests/README.md).
/// </summary>
public class MessageInspectorBoundaryTests
{
    private static async Task<InspectionReport> Inspect(byte[] raw, InspectionOptions? options = null)
    {
        using var stream = new MemoryStream(raw);
        return await new MessageInspector(options ?? new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
    }

    private static Task<InspectionReport> InspectAttachment(string name, byte[] content, string type, InspectionOptions? options = null) =>
        Inspect(DentalCorpus.WithAttachments((name, content, type)).ToBytes(), options);

    private static string Describe(InspectionReport report) => FailClosedInspectionTests.Describe(report);

    private static void AssertNothingFailedClosed(InspectionReport report) =>
        Assert.That(report.FailedClosed, Is.Empty, Describe(report));

    private static void AssertFailedClosed(InspectionReport report, string reasonFragment)
    {
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
        Assert.That(report.FailedClosed.Select(f => f.FailClosedReason), Has.Some.Contains(reasonFragment), Describe(report));
    }

    /// <summary>Letters and spaces that deflate to about half: text that is neither a bomb nor an image.</summary>
    private static byte[] Prose(int length)
    {
        var random = new Random(length);
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = i % 7 == 6 ? (byte)' ' : (byte)('a' + random.Next(26));
        return bytes;
    }

    private static byte[] StoredZip(params (string Name, byte[] Content)[] entries) => DentalCorpus.ZipWith(CompressionLevel.NoCompression, entries);

    private static byte[] TextEntries(int count) =>
        DentalCorpus.Zip(Enumerable.Range(0, count).Select(i => ($"note{i}.txt", Encoding.ASCII.GetBytes($"note {i}"))).ToArray());

    // ------------------------------------------------------------------ MIME depth

    [Test]
    public async Task MessageInspector_MultipartNestedExactlyToTheMimeDepth_WalkedToTheTextAtTheBottom()
    {
        // 32 multiparts put the text leaf at depth 32, the default Inspection:MaxMimeDepth; MimeKit is told one more.
        var report = await Inspect(DentalCorpus.DeeplyNested(new InspectionOptions().MaxMimeDepth));
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Single().Path, Does.EndWith("part " + string.Join(".", Enumerable.Repeat("1", 32))), "the leaf itself was read");
    }

    [Test]
    public async Task MessageInspector_MultipartNestedOneLevelPastTheMimeDepth_Unknown() =>
        AssertFailedClosed(await Inspect(DentalCorpus.DeeplyNested(new InspectionOptions().MaxMimeDepth + 1)), "Inspection:MaxMimeDepth");

    // ------------------------------------------------------------------ zip: depth, entries, bytes, ratio

    private static byte[] NestedZips(int levels)
    {
        var zip = DentalCorpus.Zip(("x.dcm", DentalCorpus.Dicom()));
        for (var i = 1; i < levels; i++) zip = DentalCorpus.Zip(($"level{i}.zip", zip));
        return zip;
    }

    [Test]
    public async Task MessageInspector_ZipsNestedExactlyToTheArchiveDepth_DicomAtTheBottomFound()
    {
        var report = await InspectAttachment("deep.zip", NestedZips(new InspectionOptions().MaxArchiveDepth), "application/zip");
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Dicom), Is.EqualTo(1), Describe(report));
    }

    [Test]
    public async Task MessageInspector_ZipsNestedOneLevelPastTheArchiveDepth_Unknown() =>
        AssertFailedClosed(await InspectAttachment("deep.zip", NestedZips(new InspectionOptions().MaxArchiveDepth + 1), "application/zip"), "Inspection:MaxArchiveDepth");

    [Test]
    public async Task MessageInspector_ZipWithExactlyTheEntryLimit_Walked()
    {
        var report = await InspectAttachment("notes.zip", TextEntries(3), "application/zip", new InspectionOptions { MaxArchiveEntries = 3 });
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Count(f => f.Path.Contains("> note", StringComparison.Ordinal)), Is.EqualTo(3), Describe(report));
    }

    [Test]
    public async Task MessageInspector_ZipWithOneEntryPastTheLimit_UnknownBeforeAnyEntryIsRead() =>
        AssertFailedClosed(await InspectAttachment("notes.zip", TextEntries(4), "application/zip", new InspectionOptions { MaxArchiveEntries = 3 }), "Inspection:MaxArchiveEntries");

    /// <summary>An outer zip of (inner.zip holding <paramref name="inner"/> notes, last.txt): 1 + inner + 1 entries share one budget.</summary>
    private static byte[] ZipAroundZip(int inner) => DentalCorpus.Zip(("inner.zip", TextEntries(inner)), ("last.txt", "last"u8.ToArray()));

    [Test]
    public async Task MessageInspector_NestedZipsUsingTheWholeEntryBudget_Walked() =>
        AssertNothingFailedClosed(await InspectAttachment("notes.zip", ZipAroundZip(2), "application/zip", new InspectionOptions { MaxArchiveEntries = 4 }));

    [Test]
    public async Task MessageInspector_NestedZipsOneEntryPastTheSharedBudget_UnknownAtTheLastEntry()
    {
        // Each zip on its own declares no more than the limit: only the count while walking sees 5 entries.
        var report = await InspectAttachment("notes.zip", ZipAroundZip(2), "application/zip", new InspectionOptions { MaxArchiveEntries = 3 });
        AssertFailedClosed(report, "Inspection:MaxArchiveEntries");
        Assert.That(report.Findings.Any(f => f.Path.EndsWith("last.txt", StringComparison.Ordinal)), Is.False, "the walk stopped at the fourth entry: " + Describe(report));
    }

    [Test]
    public async Task MessageInspector_ZipEntryOfExactlyTheByteBudget_Walked() =>
        AssertNothingFailedClosed(await InspectAttachment("notes.zip", DentalCorpus.Zip(("a.txt", Prose(5000))), "application/zip", new InspectionOptions { MaxTotalUncompressedBytes = 5000 }));

    [Test]
    public async Task MessageInspector_ZipEntryOneBytePastTheByteBudget_Unknown() =>
        AssertFailedClosed(await InspectAttachment("notes.zip", DentalCorpus.Zip(("a.txt", Prose(5001))), "application/zip", new InspectionOptions { MaxTotalUncompressedBytes = 5000 }), "Inspection:MaxTotalUncompressedBytes");

    [Test]
    public async Task MessageInspector_ZipEntriesTogetherPastTheByteBudget_UnknownAtTheSecond()
    {
        // Each entry fits the budget on its own; the second one's bytes, counted as they are read, do not.
        var report = await InspectAttachment("notes.zip", DentalCorpus.Zip(("a.txt", Prose(3000)), ("b.txt", Prose(2001))), "application/zip", new InspectionOptions { MaxTotalUncompressedBytes = 5000 });
        AssertFailedClosed(report, "Inspection:MaxTotalUncompressedBytes");
    }

    [Test]
    public async Task MessageInspector_ZipEntriesTogetherExactlyTheByteBudget_Walked() =>
        AssertNothingFailedClosed(await InspectAttachment("notes.zip", DentalCorpus.Zip(("a.txt", Prose(3000)), ("b.txt", Prose(2000))), "application/zip", new InspectionOptions { MaxTotalUncompressedBytes = 5000 }));

    [Test]
    public async Task MessageInspector_HighlyCompressedEntryJustBelowTheRatioCheckSize_NotABomb() =>
        AssertNothingFailedClosed(await InspectAttachment("zeros.zip", DentalCorpus.Zip(("zeros.bin", new byte[4095])), "application/zip"));

    [Test]
    public async Task MessageInspector_HighlyCompressedEntryAtTheRatioCheckSize_ZipBomb() =>
        AssertFailedClosed(await InspectAttachment("zeros.zip", DentalCorpus.Zip(("zeros.bin", new byte[4096])), "application/zip"), "Inspection:MaxCompressionRatio");

    [Test]
    public async Task MessageInspector_StoredEntryAtARatioOfExactlyTheLimit_NotABomb()
    {
        var zip = StoredZip(("a.txt", Prose(8192)));
        using (var check = new ZipArchive(new MemoryStream(zip)))
            Assert.That(check.Entries[0].CompressedLength, Is.EqualTo(check.Entries[0].Length), "stored: a ratio of exactly 1");
        AssertNothingFailedClosed(await InspectAttachment("notes.zip", zip, "application/zip", new InspectionOptions { MaxCompressionRatio = 1 }));
    }

    [Test]
    public async Task MessageInspector_ZipEntryNamedLikeAFolderButHoldingBytes_Inspected()
    {
        // Only an empty entry whose name ends in '/' is a folder; bytes under such a name are still read.
        var report = await InspectAttachment("x.zip", DentalCorpus.Zip(("scans/", DentalCorpus.Dicom())), "application/zip");
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Dicom && f.IsProtected), Is.EqualTo(1), Describe(report));
    }

    [Test]
    public async Task MessageInspector_EmptyZipOfTheBareEndRecord_NothingProtected()
    {
        var empty = DentalCorpus.Zip();
        Assert.That(empty, Has.Length.EqualTo(22), "an empty zip is the 22-byte end record alone");
        var report = await InspectAttachment("empty.zip", empty, "application/zip");
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }
    // ------------------------------------------------------------------ anchors and cid references

    [Test]
    public async Task MessageInspector_ImageTwoLevelsDown_AnchoredAtItsPartAndItsTopLevelPart()
    {
        // alternative(text, related(html, image)): the image is part 2.2, inside the second top-level part.
        var report = await Inspect(DentalCorpus.WithInlineImage(DentalCorpus.PanoramicJpeg(), "image001.jpg", "image/jpeg").ToBytes());
        var finding = report.Findings.Single(f => f.Kind == ImageKind.Radiograph);
        Assert.That((finding.PartSpecifier, finding.TopLevelPartIndex), Is.EqualTo(("2.2", 1)), Describe(report));
    }

    [Test]
    public async Task MessageInspector_ImageInAnAttachedMessage_AnchoredAtTheAttachedMessagePart()
    {
        var inner = DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg"));
        var report = await Inspect(DentalCorpus.Forwarding(inner).ToBytes());
        var finding = report.Findings.Single(f => f.Kind == ImageKind.Radiograph);
        Assert.That((finding.PartSpecifier, finding.TopLevelPartIndex), Is.EqualTo(("2", 1)), Describe(report));
    }

    private const string Headers = "From: frontdesk@practice.example\r\nTo: doctor@lab.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n";

    private static byte[] RelatedLogo(string reference) => Encoding.ASCII.GetBytes(Headers +
        "Content-Type: multipart/related; boundary=\"r1\"\r\n\r\n" +
        $"--r1\r\nContent-Type: text/html\r\n\r\n<p>Regards</p><img src=\"cid:{reference}\">\r\n" +
        "--r1\r\nContent-Type: image/png\r\nContent-ID: <logo@practice.example>\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Convert.ToBase64String(DentalCorpus.SignatureLogoPng(), Base64FormattingOptions.InsertLineBreaks) + "\r\n--r1--\r\n");

    [TestCase("logo@practice.example", TestName = "MessageInspector_LogoReferencedByCid_Decoration")]
    [TestCase("logo%40practice.example", TestName = "MessageInspector_LogoReferencedByAPercentEncodedCid_Decoration")]
    [TestCase("LOGO@Practice.Example", TestName = "MessageInspector_LogoReferencedByCidInAnotherCase_Decoration")]
    public async Task MessageInspector_LogoReferencedFromTheHtml_DecorationNotProtected(string reference)
    {
        var report = await Inspect(RelatedLogo(reference));
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Decoration), Is.EqualTo(1), Describe(report));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [Test]
    public async Task MessageInspector_LogoNotReferencedFromTheHtml_NotADecoration() =>
        Assert.That((await Inspect(RelatedLogo("other@practice.example"))).Findings.Any(f => f.Kind == ImageKind.Decoration), Is.False,
            "a decoration must be one the HTML shows");
    // ------------------------------------------------------------------ items in the text, messages under other types

    /// <summary><paramref name="levels"/> multiparts around one leaf (its headers and body as written), so the leaf sits at that depth.</summary>
    private static byte[] NestedLeaf(int levels, string leaf)
    {
        var sb = new StringBuilder(Headers);
        for (var i = 0; i < levels; i++) sb.Append($"Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n");
        sb.Append(leaf);
        for (var i = levels - 1; i >= 0; i--) sb.Append($"\r\n--b{i}--");
        sb.Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    private static string DataUriLeaf() =>
        $"Content-Type: text/plain\r\n\r\nSee data:application/dicom;base64,{Convert.ToBase64String(DentalCorpus.Dicom())}\r\n\r\nThanks";

    private static string EmlLeaf() =>
        "Content-Type: application/octet-stream\r\n\r\n" + Headers + "Content-Type: application/dicom\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
        Convert.ToBase64String(DentalCorpus.Dicom(), Base64FormattingOptions.InsertLineBreaks);

    [Test]
    public async Task MessageInspector_DataUriInATextPartOneAboveTheMimeDepth_DicomFound()
    {
        // The text part sits at depth 31, so the item in it is at 32: still inside the bound.
        var report = await Inspect(NestedLeaf(new InspectionOptions().MaxMimeDepth - 1, DataUriLeaf()));
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Dicom), Is.EqualTo(1), Describe(report));
    }

    [Test]
    public async Task MessageInspector_DataUriInATextPartAtTheMimeDepth_Unknown() =>
        AssertFailedClosed(await Inspect(NestedLeaf(new InspectionOptions().MaxMimeDepth, DataUriLeaf())), "embedded items nested deeper than 32");

    [Test]
    public async Task MessageInspector_EmlAsOctetStreamOneAboveTheMimeDepth_DicomFound()
    {
        var report = await Inspect(NestedLeaf(new InspectionOptions().MaxMimeDepth - 1, EmlLeaf()));
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Dicom), Is.EqualTo(1), Describe(report));
    }

    [Test]
    public async Task MessageInspector_EmlAsOctetStreamAtTheMimeDepth_Unknown() =>
        AssertFailedClosed(await Inspect(NestedLeaf(new InspectionOptions().MaxMimeDepth, EmlLeaf())), "Inspection:MaxMimeDepth");

    private static byte[] HtmlPartsWithIcons(params int[] iconsPerPart)
    {
        var icon = $"<img src=\"data:image/png;base64,{Convert.ToBase64String(DentalCorpus.SignatureLogoPng())}\">";
        var sb = new StringBuilder(Headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
        foreach (var n in iconsPerPart) sb.Append("--b1\r\nContent-Type: text/html\r\n\r\n").Append(string.Concat(Enumerable.Repeat(icon, n))).Append("\r\n");
        sb.Append("--b1--\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    [Test]
    public async Task MessageInspector_ExactlyTheEmbeddedItemLimitInOnePart_NotUnknown()
    {
        var report = await Inspect(HtmlPartsWithIcons(3), new InspectionOptions { MaxEmbeddedItems = 3 });
        AssertNothingFailedClosed(report);
        Assert.That(report.Findings.Count(f => f.Format == "PNG"), Is.EqualTo(3), Describe(report));
    }

    [Test]
    public async Task MessageInspector_EmbeddedItemsOfTwoPartsTogetherExactlyTheLimit_NotUnknown() =>
        AssertNothingFailedClosed(await Inspect(HtmlPartsWithIcons(2, 2), new InspectionOptions { MaxEmbeddedItems = 4 }));

    [Test]
    public async Task MessageInspector_EmbeddedItemsOfTwoPartsTogetherPastTheLimit_UnknownAtTheSecondPart()
    {
        // Each part alone stays within the limit; the count is per message.
        var report = await Inspect(HtmlPartsWithIcons(2, 2), new InspectionOptions { MaxEmbeddedItems = 3 });
        AssertFailedClosed(report, "Inspection:MaxEmbeddedItems");
        Assert.That(report.FailedClosed.Single().PartSpecifier, Is.EqualTo("2"), Describe(report));
    }
    // ------------------------------------------------------------------ TNEF

    private static void TnefAttribute(Stream s, MimeKit.Tnef.TnefAttributeLevel level, MimeKit.Tnef.TnefAttributeTag tag, byte[] data, bool goodChecksum = true) =>
        DentalCorpus.TnefAttribute(s, level, tag, data, goodChecksum);

    /// <summary>The fixture's 6 attributes (version, code page, class, and the attachment's three) and <paramref name="subjects"/> more.</summary>
    private static byte[] TnefWithSubjects(int subjects)
    {
        var s = new MemoryStream();
        s.Write(DentalCorpus.Tnef(("note.txt", "hello"u8.ToArray())));
        for (var i = 0; i < subjects; i++) TnefAttribute(s, MimeKit.Tnef.TnefAttributeLevel.Message, MimeKit.Tnef.TnefAttributeTag.Subject, "x\0"u8.ToArray());
        return s.ToArray();
    }

    [Test]
    public async Task MessageInspector_TnefOfExactlyOneHundredThousandAttributes_Read() =>
        AssertNothingFailedClosed(await InspectAttachment("winmail.dat", TnefWithSubjects(100_000 - 6), "application/ms-tnef"));

    [Test]
    public async Task MessageInspector_TnefOfOneAttributeMoreThanOneHundredThousand_Unknown() =>
        AssertFailedClosed(await InspectAttachment("winmail.dat", TnefWithSubjects(100_000 - 5), "application/ms-tnef"), "TNEF has more than 100000 attributes");

    /// <summary>A winmail.dat of <paramref name="subjects"/> subject attributes, then one whose checksum is wrong, then one more.</summary>
    private static byte[] TnefWithDamageAfter(int subjects)
    {
        var s = new MemoryStream();
        s.Write(DentalCorpus.Tnef(("note.txt", "hello"u8.ToArray())));
        var subject = Encoding.ASCII.GetBytes("x\0");
        for (var i = 0; i < subjects; i++) TnefAttribute(s, MimeKit.Tnef.TnefAttributeLevel.Message, MimeKit.Tnef.TnefAttributeTag.Subject, subject);
        TnefAttribute(s, MimeKit.Tnef.TnefAttributeLevel.Message, MimeKit.Tnef.TnefAttributeTag.Subject, subject, goodChecksum: false);
        TnefAttribute(s, MimeKit.Tnef.TnefAttributeLevel.Message, MimeKit.Tnef.TnefAttributeTag.Subject, subject);
        return s.ToArray();
    }

    [Test]
    public async Task MessageInspector_TnefDamagedAfterAFewAttributes_Unknown() =>
        AssertFailedClosed(await InspectAttachment("winmail.dat", TnefWithDamageAfter(10), "application/ms-tnef"), "TNEF");

    [Test]
    public async Task MessageInspector_TnefDamagedOnlyAfterOneHundredThousandAttributes_Unknown() =>
        // The strict pass stops counting at 100000 attributes; what it did not read must not count as well-formed.
        AssertFailedClosed(await InspectAttachment("winmail.dat", TnefWithDamageAfter(100_005), "application/ms-tnef"), "TNEF");
}
