using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>PDF attachments: image objects, inline images, embedded files, filters, and every fail-closed path.</summary>
public class MessageInspectorPdfTests
{
    private const string GrayDct = "<< /Type /XObject /Subtype /Image /Width 2000 /Height 1000 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode >>";

    private static async Task<InspectionReport> Inspect(byte[] pdf, InspectionOptions? options = null)
    {
        using var stream = new MemoryStream(DentalCorpus.WithAttachments(("referral.pdf", pdf, "application/pdf")).ToBytes());
        return await new MessageInspector(options ?? new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
    }

    private static string Describe(InspectionReport report) =>
        string.Join("\n", report.Findings.Select(f => $"{f.Path}: {f.Kind} {f.Format} {f.Width}x{f.Height} {f.FailClosedReason}"));

    private static byte[] OnePage(Func<PdfFixture, int> addImage)
    {
        var pdf = new PdfFixture();
        var image = addImage(pdf);
        return pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image }));
    }

    private static byte[] WithEmbeddedFile(string streamDictionary, byte[] stream)
    {
        var pdf = new PdfFixture();
        var file = pdf.Add(streamDictionary, stream);
        var spec = pdf.Add($"<< /Type /Filespec /F (attachment) /EF << /F {file} 0 R >> >>");
        return pdf.Build(pdf.Document(new Dictionary<string, int>(), $"/Names << /EmbeddedFiles << /Names [(attachment) {spec} 0 R] >> >>"));
    }

    private static void AssertFailedClosed(InspectionReport report, string reasonPart)
    {
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
        Assert.That(report.Findings.Select(f => f.FailClosedReason).OfType<string>(), Has.Some.Contains(reasonPart), Describe(report));
    }

    private static void AssertNoFailure(InspectionReport report) =>
        Assert.That(report.Findings.Where(f => f.FailClosedReason is not null), Is.Empty, Describe(report));

    [Test]
    public async Task MessageInspector_PdfWithDctRadiograph_RadiographFromTheDictionaryAndFromTheJpeg()
    {
        var report = await Inspect(OnePage(pdf => pdf.Add(GrayDct, DentalCorpus.PanoramicJpeg())));
        AssertNoFailure(report);
        var xobject = report.Findings.Single(f => f.Format == "PDF image (DCTDecode)");
        Assert.That((xobject.Kind, xobject.Width, xobject.Height), Is.EqualTo((ImageKind.Radiograph, (int?)2000, (int?)1000)), Describe(report));
        Assert.That(report.Findings.Any(f => f.Format == "JPEG" && f.Kind == ImageKind.Radiograph), Is.True, "the stream sniffed as the JPEG it is:\n" + Describe(report));
    }

    [Test]
    public async Task MessageInspector_PdfWithSmallLogoOnly_NothingProtected()
    {
        var report = await Inspect(OnePage(pdf => pdf.Add("<< /Type /XObject /Subtype /Image /Width 120 /Height 40 /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /FlateDecode >>",
            ContainerFixtures.Zlib(ContainerFixtures.Pixels(120 * 40 * 3, 5)))));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [TestCase("/DeviceGray", ImageKind.Radiograph)]
    [TestCase("[/ICCBased 99 0 R]", ImageKind.ClinicalPhoto)]
    [TestCase("[/Indexed /DeviceGray 255 <00>]", ImageKind.Radiograph)]
    [TestCase("/DeviceCMYK", ImageKind.ClinicalPhoto)]
    public async Task MessageInspector_PdfFlateImage_KindFromColourSpace(string colourSpace, ImageKind expected)
    {
        var report = await Inspect(OnePage(pdf => pdf.Add($"<< /Type /XObject /Subtype /Image /Width 800 /Height 600 /ColorSpace {colourSpace} /BitsPerComponent 8 /Filter /FlateDecode >>",
            ContainerFixtures.Zlib(ContainerFixtures.Pixels(800 * 600, 9)))));
        AssertNoFailure(report);
        Assert.That(report.Findings.Single(f => f.Format.StartsWith("PDF image")).Kind, Is.EqualTo(expected), Describe(report));
    }

    [Test]
    public async Task MessageInspector_PdfImageWithoutDimensions_ProtectedBecauseItsSizeIsUnknown()
    {
        var report = await Inspect(OnePage(pdf => pdf.Add("<< /Type /XObject /Subtype /Image /Width 99 0 R /Height 600 /ColorSpace /DeviceGray /BitsPerComponent 8 >>", new byte[600])));
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
    }

    [Test]
    public async Task MessageInspector_PdfDimensionsDefinedTwiceDifferently_ProtectedBecauseAmbiguous()
    {
        var pdf = new PdfFixture();
        var width = pdf.Add("20");
        var image = pdf.Add($"<< /Type /XObject /Subtype /Image /Width {width} 0 R /Height 20 /ColorSpace /DeviceGray /BitsPerComponent 8 >>", new byte[400]);
        var bytes = pdf.Build(pdf.Document(new Dictionary<string, int> { ["Im1"] = image }));
        // An incremental update that redefines the width: which one a viewer takes depends on its cross-reference handling.
        var report = await Inspect([.. bytes, .. Encoding.ASCII.GetBytes($"{width} 0 obj\n4000\nendobj\n")]);
        Assert.That(report.HasDentalImage, Is.True, Describe(report));
    }

    [Test]
    public async Task MessageInspector_PdfInlineImage_RadiographFromItsDictionary()
    {
        var pdf = new PdfFixture();
        var pages = pdf.Reserve();
        var content = pdf.Add("<< /Filter /FlateDecode >>", ContainerFixtures.Zlib([.. Encoding.ASCII.GetBytes("BI /W 640 /H 480 /CS /G /BPC 8 ID "), .. ContainerFixtures.Pixels(640 * 480, 1), .. "\nEI\n"u8]));
        var page = pdf.Add($"<< /Type /Page /Parent {pages} 0 R /Contents {content} 0 R >>");
        pdf.Set(pages, $"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>");
        var report = await Inspect(pdf.Build(pdf.Add($"<< /Type /Catalog /Pages {pages} 0 R >>")));
        var inline = report.Findings.Single(f => f.Path.Contains("inline image 1"));
        Assert.That((inline.Kind, inline.Width, inline.Height), Is.EqualTo((ImageKind.Radiograph, (int?)640, (int?)480)), Describe(report));
    }

    [TestCase("<< /Type /EmbeddedFile /Filter /FlateDecode >>", "flate")]
    [TestCase("<< /Filter /ASCII85Decode >>", "a85")]
    [TestCase("<< /Filter /RunLengthDecode >>", "rl")]
    [TestCase("<< /Filter /LZWDecode >>", "lzw")]
    [TestCase("<< /Filter [/AHx /Fl] >>", "hex+flate")]
    public async Task MessageInspector_PdfEmbeddedDicom_DicomThroughEachFilter(string dictionary, string encoding)
    {
        // Long enough (random pixel data behind the header) for LZW to reach 12-bit codes and clear its table.
        byte[] dicom = [.. DentalCorpus.Dicom(), .. ContainerFixtures.Pixels(60_000, 17)];
        var encoded = encoding switch
        {
            "flate" => ContainerFixtures.Zlib(dicom),
            "a85" => PdfEncoders.Ascii85(dicom),
            "rl" => PdfEncoders.RunLength(dicom),
            "lzw" => PdfEncoders.Lzw(dicom),
            _ => Encoding.ASCII.GetBytes(Convert.ToHexString(ContainerFixtures.Zlib(dicom)) + ">"),
        };
        var report = await Inspect(WithEmbeddedFile(dictionary, encoded));
        AssertNoFailure(report);
        var found = report.Findings.Single(f => f.Kind == ImageKind.Dicom);
        Assert.That(found.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(dicom))), "decoded exactly");
    }

    [Test]
    public async Task MessageInspector_PlainPdfLetter_NothingProtected()
    {
        var pdf = new PdfFixture();
        var report = await Inspect(pdf.Build(pdf.Document(new Dictionary<string, int>())));
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [Test]
    public async Task MessageInspector_EncryptedPdf_FailsClosed()
    {
        var pdf = new PdfFixture();
        var encrypt = pdf.Add("<< /Filter /Standard /V 2 /R 3 /O <00> /U <00> /P -4 >>");
        AssertFailedClosed(await Inspect(pdf.Build(pdf.Document(new Dictionary<string, int>()), $"/Encr#79pt {encrypt} 0 R")), "encrypted PDF");
    }

    [Test]
    public async Task MessageInspector_PdfWithoutObjectsOrTruncated_FailsClosed()
    {
        AssertFailedClosed(await Inspect("%PDF-1.7\nthis is not a PDF at all\n%%EOF\n"u8.ToArray()), "PDF without readable objects");
        var whole = OnePage(pdf => pdf.Add(GrayDct, DentalCorpus.PanoramicJpeg()));
        var cut = Encoding.Latin1.GetString(whole).IndexOf("stream\r\n", StringComparison.Ordinal) + 4000;
        AssertFailedClosed(await Inspect(whole[..cut]), "PDF could not be read");
    }

    [Test]
    public async Task MessageInspector_PdfStreamWithUnknownFilterOrPredictorOrCrypt_FailsClosed()
    {
        AssertFailedClosed(await Inspect(WithEmbeddedFile("<< /Filter /Rot13Decode >>", "abc"u8.ToArray())), "PDF filter Rot13Decode is not decoded");
        AssertFailedClosed(await Inspect(WithEmbeddedFile("<< /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >> >>", ContainerFixtures.Zlib(new byte[64]))), "predictor");
        AssertFailedClosed(await Inspect(WithEmbeddedFile("<< /Filter [/Crypt] >>", "abc"u8.ToArray())), "crypt filter");
        AssertFailedClosed(await Inspect(WithEmbeddedFile("<< /Filter /FlateDecode >>", "not zlib at all"u8.ToArray())), "PDF stream could not be decoded");
    }

    [Test]
    public async Task MessageInspector_PdfFlateBomb_FailsClosedOnTheRatio()
    {
        var report = await Inspect(WithEmbeddedFile("<< /Filter /FlateDecode >>", ContainerFixtures.Zlib(new byte[64 << 20])));
        AssertFailedClosed(report, "Inspection:MaxCompressionRatio");
    }

    [Test]
    public async Task MessageInspector_PdfPastItsBounds_FailsClosedNamingTheKey()
    {
        var pdf = OnePage(p => p.Add(GrayDct, DentalCorpus.PanoramicJpeg()));
        AssertFailedClosed(await Inspect(pdf, new InspectionOptions { MaxDocumentBytes = 1000 }), "Inspection:MaxDocumentBytes");
        AssertFailedClosed(await Inspect(pdf, new InspectionOptions { MaxPdfObjects = 3 }), "Inspection:MaxPdfObjects");
    }

    [Test]
    public async Task MessageInspector_PdfNestedOneHundredThousandArraysDeep_FailsClosedWithoutOverflowingTheStack()
    {
        var deep = Encoding.ASCII.GetBytes("%PDF-1.7\n1 0 obj\n" + new string('[', 100_000) + new string(']', 100_000) + "\nendobj\n%%EOF\n");
        AssertFailedClosed(await Inspect(deep), "nested too deep");
    }

    [Test]
    public async Task MessageInspector_PdfEmbeddedInPdfInZip_RadiographThreeLevelsDown()
    {
        var inner = OnePage(pdf => pdf.Add(GrayDct, DentalCorpus.PanoramicJpeg()));
        var outer = WithEmbeddedFile("<< /Type /EmbeddedFile >>", DentalCorpus.Zip(("inner.pdf", inner)));
        var report = await Inspect(outer);
        AssertNoFailure(report);
        Assert.That(report.Findings.Any(f => f.Kind == ImageKind.Radiograph && f.Path.Contains("inner.pdf")), Is.True, Describe(report));
    }
}

/// <summary>Encoders for the PDF filters the fixtures need (nothing here writes them).</summary>
internal static class PdfEncoders
{
    public static byte[] Ascii85(byte[] data)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < data.Length; i += 4)
        {
            var n = Math.Min(4, data.Length - i);
            uint value = 0;
            for (var k = 0; k < 4; k++) value = value << 8 | (k < n ? data[i + k] : (byte)0);
            if (value == 0 && n == 4) { sb.Append('z'); continue; }
            var digits = new char[5];
            for (var k = 4; k >= 0; k--) { digits[k] = (char)('!' + value % 85); value /= 85; }
            sb.Append(digits, 0, n + 1);
        }
        return Encoding.ASCII.GetBytes(sb.Append("~>").ToString());
    }

    public static byte[] RunLength(byte[] data)
    {
        var s = new MemoryStream();
        for (var i = 0; i < data.Length; i += 128)
        {
            var n = Math.Min(128, data.Length - i);
            s.WriteByte((byte)(n - 1));
            s.Write(data, i, n);
        }
        s.WriteByte(128);
        return s.ToArray();
    }

    /// <summary>LZW with 9-12 bit codes, early change, a clear code when the table fills.</summary>
    public static byte[] Lzw(byte[] data)
    {
        var output = new List<byte>();
        long bits = 0;
        var count = 0;
        var width = 9;
        void Emit(int code)
        {
            bits = bits << width | (uint)code;
            count += width;
            while (count >= 8) { output.Add((byte)(bits >> (count - 8))); count -= 8; }
        }
        var table = new Dictionary<string, int>();
        void Reset()
        {
            table.Clear();
            for (var c = 0; c < 256; c++) table[((char)c).ToString()] = c;
        }
        Reset();
        var next = 258;
        Emit(256);
        var w = "";
        foreach (var b in data)
        {
            var wc = w + (char)b;
            if (table.ContainsKey(wc)) { w = wc; continue; }
            Emit(table[w]);
            table[wc] = next++;
            w = ((char)b).ToString();
            if (next >= 1 << width) width++;
            if (width > 12 || next >= 4094)
            {
                width = Math.Min(width, 12);
                Emit(256);
                Reset();
                next = 258;
                width = 9;
            }
        }
        if (w.Length > 0) Emit(table[w]);
        Emit(257);
        if (count > 0) output.Add((byte)(bits << (8 - count)));
        return [.. output];
    }
}
