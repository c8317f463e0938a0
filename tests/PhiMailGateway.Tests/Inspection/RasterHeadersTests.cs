using System.Buffers.Binary;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// The raster header readers one edge at a time, through <see cref="ContentSniffer.Sniff"/>: a
/// header that is one byte short or out of range must be a broken raster (Unknown, protected),
/// never a small image or "not an image"; a header that is exactly long enough must be read.
/// </summary>
public class RasterHeadersTests
{
    private static readonly DentalImageClassifier Classifier = new(new InspectionOptions());

    private static SniffResult Sniff(byte[] bytes) => ContentSniffer.Sniff(bytes, bytes.Length);

    private static (string Format, int? Width, int? Height, int? Components, int? BitDepth, bool? Gray) Facts(SniffResult r)
    {
        Assert.That(r.Error, Is.Null, $"{r.Format} read without error");
        return (r.Format, r.Width, r.Height, r.Components, r.BitDepth, r.Grayscale);
    }

    /// <summary>A broken raster of <paramref name="format"/> whose error is <paramref name="error"/>, and the classifier's Unknown for it.</summary>
    private static void AssertBroken(byte[] bytes, string format, string error)
    {
        var r = Sniff(bytes);
        Assert.That((r.Family, r.Format, r.Error), Is.EqualTo((ContentFamily.Raster, format, error)));
        Assert.That(Classifier.Classify(r, bytes.Length, null, null, false).Kind, Is.EqualTo(ImageKind.Unknown), "a raster that cannot be read is protected");
    }

    private static byte[] Be16(int v) => [(byte)(v >> 8), (byte)v];

    private static byte[] Be32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32BigEndian(b, v); return b; }

    private static byte[] Le16(int v) => [(byte)v, (byte)(v >> 8)];

    private static byte[] Le32(uint v) { var b = new byte[4]; BinaryPrimitives.WriteUInt32LittleEndian(b, v); return b; }

    // ------------------------------------------------------------------ JPEG

    private static byte[] Sof(byte marker, int width, int height, int components, byte precision = 8) =>
        [0xFF, marker, .. Be16(8 + 3 * components), precision, .. Be16(height), .. Be16(width), (byte)components, .. Enumerable.Repeat((byte)0x11, 3 * components)];

    private static byte[] Jpeg(params byte[][] segments) => [0xFF, 0xD8, .. segments.SelectMany(s => s)];

    [TestCase(0xC0)]
    [TestCase(0xC1)]
    [TestCase(0xC2)]
    [TestCase(0xC3)]
    [TestCase(0xC5)]
    [TestCase(0xC6)]
    [TestCase(0xC7)]
    [TestCase(0xC9)]
    [TestCase(0xCA)]
    [TestCase(0xCB)]
    [TestCase(0xCD)]
    [TestCase(0xCE)]
    [TestCase(0xCF)]
    public void Jpeg_EveryFrameHeaderMarker_ReadsTheFrame(int marker) =>
        Assert.That(Facts(Sniff(Jpeg(Sof((byte)marker, 1600, 1200, 1, 12)))), Is.EqualTo(("JPEG", (int?)1600, (int?)1200, (int?)1, (int?)12, (bool?)true)));

    [TestCase(0xC4)]
    [TestCase(0xC8)]
    [TestCase(0xCC)]
    [TestCase(0xE0)]
    public void Jpeg_SegmentsThatAreNoFrameHeader_SkippedToTheFrame(int marker)
    {
        byte[] notAFrame = [0xFF, (byte)marker, 0x00, 0x0B, 0x08, 0x00, 0x10, 0x00, 0x10, 0x01, 0, 0, 0];
        Assert.That(Facts(Sniff(Jpeg(notAFrame, Sof(0xC0, 2000, 1000, 3)))), Is.EqualTo(("JPEG", (int?)2000, (int?)1000, (int?)3, (int?)8, (bool?)false)),
            "the 16x16 inside the skipped segment is not the image's size");
    }

    [Test]
    public void Jpeg_FillBytesAndMarkersWithoutLength_Skipped()
    {
        byte[] standalone = [0xFF, 0xFF, 0xFF, 0x01, 0xFF, 0xD0, 0xFF, 0xD7, 0xFF, 0xD8];
        Assert.That(Facts(Sniff(Jpeg(standalone, [0xFF], Sof(0xC0, 640, 480, 1)))).Width, Is.EqualTo(640));
        byte[] emptySegment = [0xFF, 0xFE, 0x00, 0x02];
        Assert.That(Facts(Sniff(Jpeg(emptySegment, Sof(0xC0, 640, 480, 1)))).Width, Is.EqualTo(640), "a segment of length 2 holds only its length");
    }

    [Test]
    public void Jpeg_TruncatedOrOutOfOrder_BrokenNotSmall()
    {
        Assert.Multiple(() =>
        {
            AssertBroken([0xFF, 0xD8, 0xFF], "JPEG", "truncated");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xFF], "JPEG", "truncated");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xE0, 0x00], "JPEG", "truncated");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xD8], "JPEG", "no frame header (SOF) within the inspected prefix");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x00], "JPEG", "marker expected");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x08], "JPEG", "no frame header (SOF) before the image data");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xD9], "JPEG", "no frame header (SOF) before the image data");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x01, 0, 0], "JPEG", "invalid segment length");
            AssertBroken([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x00, 0, 0], "JPEG", "invalid segment length");
        });
    }

    [Test]
    public void Jpeg_FrameHeaderOneByteShort_Broken()
    {
        var sof = Sof(0xC0, 1600, 1200, 1);
        var eight = Jpeg(sof[..10]); // marker, length, precision, height, width, components: the eight bytes read
        Assert.That(Facts(Sniff(eight)).Width, Is.EqualTo(1600), "exactly the bytes read");
        AssertBroken(Jpeg(sof[..9]), "JPEG", "truncated frame header");
        byte[] shortLength = [0xFF, 0xC0, 0x00, 0x07, 8, .. Be16(1200), .. Be16(1600), 1, 0x11, 0];
        AssertBroken(Jpeg(shortLength), "JPEG", "truncated frame header");
    }

    [Test]
    public void Jpeg_FrameWithoutComponentsOrWidth_Broken()
    {
        AssertBroken(Jpeg(Sof(0xC0, 1600, 1200, 0)), "JPEG", "frame header with no components");
        AssertBroken(Jpeg(Sof(0xC0, 0, 1200, 1)), "JPEG", "implausible dimensions 0x1200");
    }

    [Test]
    public void Jpeg_HeightZero_UnknownHeightStillAnImage()
    {
        var r = Sniff(Jpeg(Sof(0xC0, 1600, 0, 1)));
        Assert.That((r.Error, r.Width, r.Height), Is.EqualTo(((string?)null, (int?)1600, (int?)null)), "the height comes later (DNL)");
        Assert.That(Classifier.Classify(r, 1000, null, null, false).Kind, Is.EqualTo(ImageKind.Radiograph), "unknown size never makes it small");
    }

    // ------------------------------------------------------------------ PNG

    private static byte[] PngHeader(uint width, uint height, byte bitDepth, byte colourType) =>
        [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Be32(13), .. "IHDR"u8, .. Be32(width), .. Be32(height), bitDepth, colourType, 0, 0, 0, 0, 0, 0, 0];

    private static byte[] Chunk(string type, byte[] data) => [.. Be32((uint)data.Length), .. System.Text.Encoding.ASCII.GetBytes(type), .. data, 0, 0, 0, 0];

    [TestCase(0, 1, true)]
    [TestCase(4, 2, true)]
    [TestCase(2, 3, false)]
    [TestCase(6, 4, false)]
    public void Png_ColourTypes_ComponentsAndGray(int colourType, int components, bool gray) =>
        Assert.That(Facts(Sniff(PngHeader(800, 600, 16, (byte)colourType))), Is.EqualTo(("PNG", (int?)800, (int?)600, (int?)components, (int?)16, (bool?)gray)));

    [TestCase(1)]
    [TestCase(5)]
    [TestCase(7)]
    public void Png_UnknownColourType_Broken(int colourType) =>
        AssertBroken(PngHeader(800, 600, 8, (byte)colourType), "PNG", $"unknown colour type {colourType}");

    [Test]
    public void Png_HeaderOneByteShortOrWithoutIhdr_Broken()
    {
        var header = PngHeader(800, 600, 8, 0);
        Assert.That(Facts(Sniff(header[..33])).Width, Is.EqualTo(800), "33 bytes: signature, IHDR and its CRC");
        AssertBroken(header[..32], "PNG", "IHDR chunk missing");
        var other = header.ToArray();
        other[15] = (byte)'X';
        AssertBroken(other, "PNG", "IHDR chunk missing");
    }

    [Test]
    public void Png_ImplausibleDimensions_Broken()
    {
        AssertBroken(PngHeader(800, 0, 8, 0), "PNG", "implausible dimensions 800x-1");
        AssertBroken(PngHeader(0, 600, 8, 0), "PNG", "implausible dimensions 0x600");
        AssertBroken(PngHeader(0x80000000, 600, 8, 0), "PNG", "implausible dimensions 2147483648x600");
        AssertBroken(PngHeader(800, 0x80000000, 8, 0), "PNG", "implausible dimensions 800x2147483648");
        Assert.That(Facts(Sniff(PngHeader(int.MaxValue, 1, 8, 0))).Width, Is.EqualTo(int.MaxValue));
        Assert.That(Facts(Sniff(PngHeader(1, int.MaxValue, 8, 0))).Height, Is.EqualTo(int.MaxValue));
    }

    [Test]
    public void Png_Palette_GrayOnlyWhenEveryEntryIsGrayAndThePaletteIsWhole()
    {
        var header = PngHeader(800, 600, 8, 3);
        bool? Gray(params byte[][] chunks) => Facts(Sniff([.. header, .. chunks.SelectMany(c => c)])).Gray;
        Assert.Multiple(() =>
        {
            Assert.That(Gray(Chunk("PLTE", [0, 0, 0, 9, 9, 9, 255, 255, 255])), Is.True, "three grays");
            Assert.That(Gray(Chunk("tEXt", "k\0v"u8.ToArray()), Chunk("PLTE", [0, 0, 0, 9, 9, 9])), Is.True, "after another chunk");
            Assert.That(Gray(Chunk("PLTE", [0, 0, 0, 9, 8, 9])), Is.False, "green differs in the second entry");
            Assert.That(Gray(Chunk("PLTE", [0, 0, 0, 9, 9, 8])), Is.False, "blue differs in the second entry");
            Assert.That(Gray(Chunk("PLTE", [1, 0, 0])), Is.False, "red differs");
            Assert.That(Gray(Chunk("PLTE", [0, 0])), Is.False, "a palette shorter than one entry");
            Assert.That(Gray(Chunk("IDAT", [1, 2, 3]), Chunk("PLTE", [0, 0, 0])), Is.False, "no palette before the image data");
            Assert.That(Gray(), Is.False, "no palette at all");
            Assert.That(Gray(Chunk("PLTE", [0, 0, 0, 9, 9, 9])[..^4]), Is.True, "a palette whose CRC is cut is still read");
            Assert.That(Gray(Chunk("PLTE", [0, 0, 0, 9, 9, 9])[..^5]), Is.False, "a palette cut short");
            Assert.That(Gray(Chunk("tEXt", "abc"u8.ToArray()), Chunk("PLTE", [0, 0, 0])), Is.True, "a chunk skipped by its length");
            Assert.That(Gray([.. Be32(100), .. "tEXt"u8, 0, 0, 0, 0], Chunk("PLTE", [0, 0, 0])), Is.False, "a chunk longer than the prefix");
        });
    }

    // ------------------------------------------------------------------ TIFF

    private static byte[] Tiff(bool big, uint ifdOffset, params (ushort Tag, ushort Type, uint Count, uint Value)[] entries)
    {
        byte[] U16(int v) => big ? Be16(v) : Le16(v);
        byte[] U32(uint v) => big ? Be32(v) : Le32(v);
        var head = new List<byte>(big ? "MM\0*"u8.ToArray() : "II*\0"u8.ToArray());
        head.AddRange(U32(ifdOffset));
        while (head.Count < ifdOffset) head.Add(0);
        head.AddRange(U16(entries.Length));
        foreach (var (tag, type, count, value) in entries)
        {
            head.AddRange(U16(tag));
            head.AddRange(U16(type));
            head.AddRange(U32(count));
            head.AddRange(type == 3 && count <= 2 ? [.. U16((int)value), 0, 0] : U32(value));
        }
        head.AddRange(U32(0));
        return [.. head];
    }

    private static (ushort, ushort, uint, uint) Short(ushort tag, uint value) => (tag, 3, 1, value);

    private static (ushort, ushort, uint, uint) Long(ushort tag, uint value) => (tag, 4, 1, value);

    [TestCase(false)]
    [TestCase(true)]
    public void Tiff_ShortAndLongValues_BothByteOrders(bool big)
    {
        var tiff = Tiff(big, 8, Long(256, 70000), Short(257, 400), Short(277, 1), Short(258, 12), Short(262, 1));
        Assert.That(Facts(Sniff(tiff)), Is.EqualTo(("TIFF", (int?)70000, (int?)400, (int?)1, (int?)12, (bool?)true)));
    }

    [TestCase(0, 1, true)]
    [TestCase(1, 1, true)]
    [TestCase(2, 3, false)]
    [TestCase(6, 3, false)]
    [TestCase(3, 1, false)]
    [TestCase(5, 1, true)]
    [TestCase(5, 4, false)]
    [TestCase(2, 1, false)]
    [TestCase(6, 1, false)]
    [TestCase(-1, 1, true)]
    [TestCase(-1, 3, false)]
    public void Tiff_PhotometricAndSamples_DecideGray(int photometric, int samples, bool gray)
    {
        (ushort, ushort, uint, uint)[] entries = [Short(256, 512), Short(257, 400), Short(277, (uint)samples), .. photometric >= 0 ? new[] { Short(262, (uint)photometric) } : []];
        Assert.That(Facts(Sniff(Tiff(false, 8, entries))).Gray, Is.EqualTo(gray));
    }

    [Test]
    public void Tiff_BitsPerSample_InlineOrAtItsOffset()
    {
        var inline2 = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 3, 2, 16));
        Assert.That(Facts(Sniff(inline2)).BitDepth, Is.EqualTo(16), "two SHORTs fit the field");
        // Three SHORTs sit elsewhere: the offset points at them (here: just after the IFD).
        var atOffset = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 3, 3, 8 + 2 + 3 * 12 + 4));
        var withValues = (byte[])[.. atOffset, .. Le16(8), .. Le16(8), .. Le16(8)];
        Assert.That(Facts(Sniff(withValues)).BitDepth, Is.EqualTo(8));
        var pointsAtEnd = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 3, 3, 50 + 4));
        Assert.That(Facts(Sniff([.. pointsAtEnd, 0, 0, 0, 0, .. Le16(10)])).BitDepth, Is.EqualTo(10), "the last two bytes of the prefix");
        var pastEnd = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 3, 3, 5000));
        Assert.That(Facts(Sniff(pastEnd)).BitDepth, Is.EqualTo(1), "an offset outside the prefix keeps the default");
        var longType = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 4, 1, 16));
        Assert.That(Facts(Sniff(longType)).BitDepth, Is.EqualTo(1), "BitsPerSample is SHORT; another type is not read");
    }

    [Test]
    public void Tiff_HeaderOrIfdOutsideThePrefix_Broken()
    {
        var good = Tiff(false, 8, Short(256, 512), Short(257, 400));
        Assert.Multiple(() =>
        {
            AssertBroken([.. "II*\0"u8, 8, 0, 0], "TIFF", "truncated");
            AssertBroken(Tiff(false, 7, Short(256, 512), Short(257, 400)), "TIFF", "first IFD outside the inspected prefix");
            AssertBroken([.. "II*\0"u8, .. Le32(8), 0], "TIFF", "first IFD outside the inspected prefix");
            AssertBroken(good[..^5], "TIFF", "first IFD truncated");
            Assert.That(Facts(Sniff(good[..^4])).Width, Is.EqualTo(512), "the IFD's entries end the prefix exactly");
            AssertBroken(Tiff(false, 8, Short(256, 512)), "TIFF", "ImageWidth or ImageLength missing");
            AssertBroken(Tiff(false, 8, Short(257, 400)), "TIFF", "ImageWidth or ImageLength missing");
            AssertBroken(Tiff(false, 8, Short(256, 0), Short(257, 400)), "TIFF", "implausible dimensions 0x400");
        });
        var ifdAtTheLastTwoBytes = (byte[])[.. "II*\0"u8, .. Le32(8), 0, 0];
        Assert.That(Sniff(ifdAtTheLastTwoBytes).Error, Is.EqualTo("ImageWidth or ImageLength missing"), "an empty IFD in the last two bytes is read");
    }

    // ------------------------------------------------------------------ JPEG 2000

    private static byte[] Box(string type, byte[] content) => [.. Be32((uint)(8 + content.Length)), .. System.Text.Encoding.ASCII.GetBytes(type), .. content];

    private static byte[] Ihdr(uint height, uint width, int components, byte bpc) => Box("ihdr", [.. Be32(height), .. Be32(width), .. Be16(components), bpc, 7, 0, 0]);

    private static readonly byte[] Jp2Signature = [0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A];

    private static byte[] Jp2(params byte[][] boxes) => [.. Jp2Signature, .. boxes.SelectMany(b => b)];

    [Test]
    public void Jp2_IhdrInsideJp2h_HeightWidthComponentsAndDepth()
    {
        var ftyp = Box("ftyp", [.. "jp2 "u8, 0, 0, 0, 0, .. "jp2 "u8]);
        Assert.That(Facts(Sniff(Jp2(ftyp, Box("jp2h", Ihdr(1000, 1500, 1, 15))))), Is.EqualTo(("JPEG 2000", (int?)1500, (int?)1000, (int?)1, (int?)16, (bool?)true)));
        Assert.That(Facts(Sniff(Jp2(Box("jp2h", [.. Box("colr", [1, 0, 0, 0, 0, 0, 17]), .. Ihdr(10, 20, 3, 0x87)])))), Is.EqualTo(("JPEG 2000", (int?)20, (int?)10, (int?)3, (int?)8, (bool?)false)),
            "the sign bit is not part of the depth");
        Assert.That(Facts(Sniff(Jp2(Box("jp2h", Ihdr(10, 20, 1, 0xFF))))).BitDepth, Is.EqualTo(0), "0xFF: depths differ per component");
    }

    [Test]
    public void Jp2_MissingOrShortBoxes_Broken()
    {
        Assert.Multiple(() =>
        {
            AssertBroken(Jp2(), "JPEG 2000", "jp2h box not within the inspected prefix");
            AssertBroken(Jp2(Ihdr(10, 20, 1, 7)), "JPEG 2000", "jp2h box not within the inspected prefix");
            AssertBroken(Jp2(Box("jp2h", Box("colr", [1, 0, 0]))), "JPEG 2000", "ihdr box missing");
            AssertBroken(Jp2(Box("jp2h", Ihdr(10, 20, 1, 7)[..^1])), "JPEG 2000", "ihdr box missing");
            Assert.That(Facts(Sniff(Jp2(Box("jp2h", Ihdr(10, 20, 1, 7))))).Width, Is.EqualTo(20), "fourteen bytes of ihdr are enough");
            AssertBroken(Jp2(Box("jp2h", Ihdr(0, 20, 1, 7))), "JPEG 2000", "implausible dimensions 20x-1");
        });
    }

    [Test]
    public void Jp2_BoxSizes_ExtendedZeroAndInvalid()
    {
        var ihdr = Ihdr(10, 20, 1, 7);
        byte[] extended = [.. Be32(1), .. "jp2h"u8, 0, 0, 0, 0, .. Be32((uint)(16 + ihdr.Length)), .. ihdr];
        Assert.That(Facts(Sniff(Jp2(extended))).Width, Is.EqualTo(20), "a 64-bit box size");
        byte[] toTheEnd = [.. Be32(0), .. "jp2h"u8, .. ihdr];
        Assert.That(Facts(Sniff(Jp2(toTheEnd))).Width, Is.EqualTo(20), "size 0: the box runs to the end");
        byte[] tooSmall = [.. Be32(7), .. "jp2h"u8, .. ihdr];
        AssertBroken(Jp2(tooSmall), "JPEG 2000", "jp2h box not within the inspected prefix");
        byte[] extendedCut = [.. Be32(1), .. "jp2h"u8, 0, 0, 0, 0, 0, 0, 0];
        AssertBroken(Jp2(extendedCut), "JPEG 2000", "jp2h box not within the inspected prefix");
        byte[] beyond = [.. Be32(4000), .. "jp2h"u8, .. ihdr];
        Assert.That(Facts(Sniff(Jp2(beyond))).Width, Is.EqualTo(20), "a box larger than the prefix is read as far as it goes");
        byte[] skipped = [.. Box("xml ", [1, 2, 3]), .. Box("jp2h", ihdr)];
        Assert.That(Facts(Sniff(Jp2(skipped))).Width, Is.EqualTo(20), "boxes before it are skipped by their size");
    }

    private static byte[] Codestream(uint xsiz, uint ysiz, uint xo, uint yo, int components, byte depth) =>
        [0xFF, 0x4F, 0xFF, 0x51, .. Be16(38 + 3 * components), 0, 0, .. Be32(xsiz), .. Be32(ysiz), .. Be32(xo), .. Be32(yo),
         .. Be32(xsiz), .. Be32(ysiz), 0, 0, 0, 0, 0, 0, 0, 0, .. Be16(components), .. Enumerable.Range(0, Math.Max(components, 1)).SelectMany(_ => new byte[] { depth, 1, 1 })];

    [Test]
    public void J2kCodestream_SizMarker_ImageAreaBeyondTheOffset()
    {
        Assert.That(Facts(Sniff(Codestream(1100, 700, 100, 50, 1, 0x8B))), Is.EqualTo(("JPEG 2000", (int?)1000, (int?)650, (int?)1, (int?)12, (bool?)true)));
        Assert.That(Facts(Sniff(Codestream(1100, 700, 0, 0, 3, 7))).Gray, Is.False);
        Assert.That(Facts(Sniff(Codestream(101, 51, 100, 50, 1, 7))), Is.EqualTo(("JPEG 2000", (int?)1, (int?)1, (int?)1, (int?)8, (bool?)true)), "one pixel past the offset");
    }

    [Test]
    public void J2kCodestream_ShortOrInvalidSiz_Broken()
    {
        var siz = Codestream(1100, 700, 0, 0, 1, 7);
        Assert.That(siz, Has.Length.EqualTo(45));
        AssertBroken(siz[..44], "JPEG 2000", "SIZ marker truncated");
        AssertBroken(Codestream(100, 700, 100, 0, 1, 7), "JPEG 2000", "invalid SIZ marker");
        AssertBroken(Codestream(1100, 50, 0, 50, 1, 7), "JPEG 2000", "invalid SIZ marker");
        AssertBroken(Codestream(1100, 700, 0, 0, 0, 7), "JPEG 2000", "invalid SIZ marker");
    }

    // ------------------------------------------------------------------ BMP

    private static byte[] BmpInfo(int width, int height, int bits, byte[]? table = null, uint dibSize = 40)
    {
        var dib = new byte[dibSize];
        BinaryPrimitives.WriteUInt32LittleEndian(dib, dibSize);
        BinaryPrimitives.WriteInt32LittleEndian(dib.AsSpan(4), width);
        BinaryPrimitives.WriteInt32LittleEndian(dib.AsSpan(8), height);
        BinaryPrimitives.WriteUInt16LittleEndian(dib.AsSpan(12), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(dib.AsSpan(14), (ushort)bits);
        return [.. "BM"u8, .. new byte[12], .. dib, .. table ?? []];
    }

    private static byte[] BmpCore(int width, int height, int bits, byte[]? table = null) =>
        [.. "BM"u8, .. new byte[12], .. Le32(12), .. Le16(width), .. Le16(height), .. Le16(1), .. Le16(bits), .. table ?? []];

    private static byte[] GrayTable(int entries, int stride) =>
        [.. Enumerable.Range(0, entries).SelectMany(i => stride == 4 ? new[] { (byte)i, (byte)i, (byte)i, (byte)0 } : new[] { (byte)i, (byte)i, (byte)i })];

    [TestCase(1, 1, 1)]
    [TestCase(4, 1, 4)]
    [TestCase(8, 1, 8)]
    [TestCase(16, 2, 8)]
    [TestCase(24, 3, 8)]
    [TestCase(32, 4, 8)]
    public void Bmp_BitCounts_ComponentsAndDepth(int bits, int components, int depth) =>
        Assert.That(Facts(Sniff(BmpInfo(800, -600, bits))), Is.EqualTo(("BMP", (int?)800, (int?)600, (int?)components, (int?)depth, (bool?)false)),
            "a top-down bitmap's height is negative");

    [TestCase(0)]
    [TestCase(2)]
    [TestCase(12)]
    [TestCase(48)]
    public void Bmp_UnsupportedBitCount_Broken(int bits) => AssertBroken(BmpInfo(800, 600, bits), "BMP", $"unsupported bit count {bits}");

    [Test]
    public void Bmp_CoreHeader_SixteenBitSizesAndThreeByteTable()
    {
        Assert.That(Facts(Sniff(BmpCore(800, 600, 24))), Is.EqualTo(("BMP", (int?)800, (int?)600, (int?)3, (int?)8, (bool?)false)));
        Assert.That(Facts(Sniff(BmpCore(800, 600, 8, GrayTable(256, 3)))).Gray, Is.True, "a table of 256 three-byte grays");
        Assert.That(Facts(Sniff(BmpCore(800, 600, 1, [0, 0, 0, 255, 255, 254]))).Gray, Is.False, "one entry is not gray");
    }

    [Test]
    public void Bmp_ColourTable_GrayOnlyWhenWholeAndGray()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 8, GrayTable(256, 4)))).Gray, Is.True, "256 grays");
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 8, GrayTable(256, 4)[..^1]))).Gray, Is.False, "a table one byte short");
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 4, GrayTable(16, 4)))).Gray, Is.True, "16 grays for 4 bits");
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 1, [0, 0, 0, 0, 255, 255, 255, 0]))).Gray, Is.True, "black and white");
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 1, [0, 0, 0, 0, 255, 254, 255, 0]))).Gray, Is.False);
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 1, [0, 0, 0, 0, 9, 9, 9, 0], dibSize: 108))).Gray, Is.True, "the table follows a V4 header");
            Assert.That(Facts(Sniff(BmpInfo(800, 600, 1, [0, 0, 0, 0, 9, 9, 9, 0], dibSize: 124))).Gray, Is.True, "and a V5 header");
        });
    }

    [Test]
    public void Bmp_HeaderCutOrEmpty_Broken()
    {
        AssertBroken(BmpInfo(800, 600, 24)[..53], "BMP", "truncated header");
        Assert.That(Facts(Sniff(BmpInfo(800, 600, 24)[..54])).Width, Is.EqualTo(800), "14 + 40 bytes");
        AssertBroken(BmpCore(800, 600, 24)[..25], "BMP", "truncated header");
        Assert.That(Facts(Sniff(BmpCore(800, 600, 24))).Height, Is.EqualTo(600), "14 + 12 bytes");
        AssertBroken(BmpInfo(800, 0, 24), "BMP", "implausible dimensions 800x-1");
        AssertBroken(BmpInfo(-800, 600, 24), "BMP", "implausible dimensions -800x600");
    }

    // ------------------------------------------------------------------ GIF

    private static byte[] Gif(int width, int height, byte packed, byte[]? table = null) =>
        [.. "GIF89a"u8, .. Le16(width), .. Le16(height), packed, 0, 0, .. table ?? []];

    [Test]
    public void Gif_ScreenSizeAndGlobalTable()
    {
        Assert.That(Facts(Sniff(Gif(640, 480, 0))), Is.EqualTo(("GIF", (int?)640, (int?)480, (int?)1, (int?)8, (bool?)false)), "no global table");
        Assert.That(Facts(Sniff(Gif(640, 480, 0x80, [0, 0, 0, 200, 200, 200]))).Gray, Is.True, "two grays (size bits 0)");
        Assert.That(Facts(Sniff(Gif(640, 480, 0x81, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]))).Gray, Is.True, "four grays (size bits 1)");
        Assert.That(Facts(Sniff(Gif(640, 480, 0x81, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 4]))).Gray, Is.False, "the last entry is colour");
        Assert.That(Facts(Sniff(Gif(640, 480, 0x81, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3]))).Gray, Is.False, "a table one byte short");
        Assert.That(Facts(Sniff(Gif(640, 480, 0x01, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]))).Gray, Is.False, "size bits without the table flag");
    }

    [Test]
    public void Gif_ShortOrEmptyScreen_Broken()
    {
        AssertBroken(Gif(640, 480, 0)[..12], "GIF", "truncated header");
        AssertBroken(Gif(640, 0, 0), "GIF", "implausible dimensions 640x-1");
        AssertBroken(Gif(0, 480, 0), "GIF", "implausible dimensions 0x480");
    }

    // ------------------------------------------------------------------ WebP

    private static byte[] WebP(string chunk, byte[] data) => [.. "RIFF"u8, 0, 0, 0, 0, .. "WEBP"u8, .. System.Text.Encoding.ASCII.GetBytes(chunk), .. Le32((uint)data.Length), .. data];

    [Test]
    public void WebP_EachFirstChunk_CanvasSize()
    {
        byte[] vp8 = [0, 0, 0, 0x9D, 0x01, 0x2A, .. Le16(0xC000 | 1600), .. Le16(0x4000 | 1200)];
        Assert.That(Facts(Sniff(WebP("VP8 ", vp8))), Is.EqualTo(("WebP", (int?)1600, (int?)1200, (int?)3, (int?)8, (bool?)false)), "the scale bits are not the size");
        var bits = (uint)(1599 | 1199 << 14 | 0xF0000000);
        var vp8l = Facts(Sniff(WebP("VP8L", [0x2F, .. Le32(bits), 0, 0, 0, 0, 0])));
        Assert.That((vp8l.Width, vp8l.Height, vp8l.Components), Is.EqualTo(((int?)1600, (int?)1200, (int?)4)));
        byte[] vp8x = [0, 0, 0, 0, 0x3F, 0x06, 0x01, 0xAF, 0x04, 0x02];
        var extended = Facts(Sniff(WebP("VP8X", vp8x)));
        Assert.That((extended.Width, extended.Height), Is.EqualTo(((int?)(0x01063F + 1), (int?)(0x0204AF + 1))), "24-bit sizes minus one");
    }

    [Test]
    public void WebP_InvalidOrShortChunk_Broken()
    {
        byte[] vp8 = [0, 0, 0, 0x9D, 0x01, 0x2A, .. Le16(1600), .. Le16(1200)];
        Assert.That(WebP("VP8 ", vp8), Has.Length.EqualTo(30));
        Assert.Multiple(() =>
        {
            AssertBroken(WebP("VP8 ", vp8)[..29], "WebP", "truncated header");
            for (var k = 3; k <= 5; k++)
            {
                var bad = vp8.ToArray();
                bad[k] ^= 1;
                AssertBroken(WebP("VP8 ", bad), "WebP", "invalid VP8 frame header");
            }
            AssertBroken(WebP("VP8 ", [0, 0, 0, 0x9D, 0x01, 0x2A, 0, 0, .. Le16(1200)]), "WebP", "implausible dimensions 0x1200");
            AssertBroken(WebP("VP8L", [0x2E, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "WebP", "invalid VP8L signature");
            AssertBroken(WebP("ALPH", new byte[10]), "WebP", "unknown first chunk");
        });
    }

    // ------------------------------------------------------------------ HEIF

    private static byte[] Ispe(uint width, uint height) => Box("ispe", [0, 0, 0, 0, .. Be32(width), .. Be32(height)]);

    private static byte[] Heif(string brand, params byte[][] properties) =>
        [.. Box("ftyp", [.. System.Text.Encoding.ASCII.GetBytes(brand), 0, 0, 0, 0, .. "mif1"u8]),
         .. Box("meta", [0, 0, 0, 0, .. Box("hdlr", new byte[24]), .. Box("iprp", Box("ipco", properties.SelectMany(p => p).ToArray()))])];

    [TestCase("heic", "HEIC")]
    [TestCase("heix", "HEIC")]
    [TestCase("heim", "HEIC")]
    [TestCase("heis", "HEIC")]
    [TestCase("hevc", "HEIC")]
    [TestCase("hevx", "HEIC")]
    [TestCase("mif1", "HEIF")]
    [TestCase("msf1", "HEIF")]
    [TestCase("avif", "AVIF")]
    [TestCase("avis", "AVIF")]
    public void Heif_EachBrand_ItsFormatWithTheLargestIspe(string brand, string format) =>
        Assert.That(Facts(Sniff(Heif(brand, Ispe(512, 512), Ispe(4032, 3024), Ispe(4000, 3000)))), Is.EqualTo((format, (int?)4032, (int?)3024, (int?)3, (int?)8, (bool?)false)));

    [Test]
    public void Heif_NoUsableIspe_ColourPhotoOfUnknownSize()
    {
        foreach (var heif in new[] { Heif("heic"), Heif("heic", Box("ispe", [0, 0, 0, 0, .. Be32(4032), 0, 0, 0])), Heif("heic", Ispe(0, 3024)), Heif("heic", Ispe(4032, 0)) })
        {
            var r = Sniff(heif);
            Assert.That((r.Family, r.Width, r.Height, r.Grayscale, r.Error), Is.EqualTo((ContentFamily.Raster, (int?)null, (int?)null, (bool?)false, (string?)null)));
            Assert.That(Classifier.Classify(r, heif.Length, null, null, false).Kind, Is.EqualTo(ImageKind.ClinicalPhoto), "unknown size is a photo, protected");
        }
        Assert.That(Facts(Sniff(Heif("heic", Box("ispe", [0, 0, 0, 0, .. Be32(4032), .. Be32(3024)])))).Width, Is.EqualTo(4032), "twelve bytes of ispe are enough");
    }

    [Test]
    public void Heif_UnknownBrandOrShortFtyp_NotHeif()
    {
        Assert.That(Sniff(Heif("isom", Ispe(4032, 3024))).Family, Is.EqualTo(ContentFamily.Other));
        Assert.That(Sniff(Heif("heic").AsSpan(0, 11).ToArray()).Family, Is.EqualTo(ContentFamily.Other), "eleven bytes hold no brand");
        Assert.That(Sniff(Heif("heic").AsSpan(0, 12).ToArray()).Format, Is.EqualTo("HEIC"), "twelve do");
    }
    // ------------------------------------------------------------------ survivors of the abd2075 run

    [Test]
    public void Jpeg_SegmentLengthInTheLastTwoBytes_ReadThenNoFrame()
    {
        AssertBroken([0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10], "JPEG", "no frame header (SOF) within the inspected prefix");
    }

    [Test]
    public void Png_PaletteNotAMultipleOfThree_ReadWithoutAnException()
    {
        var header = PngHeader(800, 600, 8, 3);
        Assert.That(Facts(Sniff([.. header, .. Chunk("PLTE", [0, 0, 0, 7, 7])])).Gray, Is.True, "the last, partial entry is not read");
    }

    [Test]
    public void Tiff_EightBytesOnly_FirstIfdOutsideThePrefix()
    {
        AssertBroken([.. "II*\0"u8, .. Le32(8)], "TIFF", "first IFD outside the inspected prefix");
    }

    [Test]
    public void Tiff_BitsPerSampleOffsetAtTheLastByte_NotReadPastTheEnd()
    {
        var tiff = Tiff(false, 8, Short(256, 512), Short(257, 400), (258, 3, 3, 50 + 1));
        Assert.That(Facts(Sniff([.. tiff, 0, 0])).BitDepth, Is.EqualTo(1), "a value whose second byte is outside the prefix");
    }

    [Test]
    public void Tiff_ImageLengthZero_UnknownHeightStillAnImage()
    {
        var r = Sniff(Tiff(false, 8, Short(256, 512), Short(257, 0), Short(262, 1)));
        Assert.That((r.Error, r.Width, r.Height), Is.EqualTo(((string?)null, (int?)512, (int?)null)));
        Assert.That(Classifier.Classify(r, 1000, null, null, false).Kind, Is.EqualTo(ImageKind.Radiograph));
    }

    [Test]
    public void WebP_LosslessAndExtended_ColourWebPs()
    {
        var vp8l = Sniff(WebP("VP8L", [0x2F, .. Le32(99 | 99 << 14), 0, 0, 0, 0, 0]));
        Assert.That((vp8l.Format, vp8l.Grayscale, vp8l.Width, vp8l.Height), Is.EqualTo(("WebP", (bool?)false, (int?)100, (int?)100)));
        var vp8x = Sniff(WebP("VP8X", [0, 0, 0, 0, 99, 0, 0, 99, 0, 0]));
        Assert.That((vp8x.Format, vp8x.Grayscale, vp8x.Width, vp8x.Height), Is.EqualTo(("WebP", (bool?)false, (int?)100, (int?)100)));
    }

    [Test]
    public void Heif_TwoIspeOfTheSameArea_TheFirstKept()
    {
        var r = Facts(Sniff(Heif("heic", Ispe(3000, 4000), Ispe(4000, 3000))));
        Assert.That((r.Width, r.Height), Is.EqualTo(((int?)3000, (int?)4000)));
    }

    [Test]
    public void Jp2_EmptyBoxes_AreBoxes()
    {
        AssertBroken(Jp2(Box("jp2h", [])), "JPEG 2000", "ihdr box missing");
        AssertBroken(Jp2([.. Be32(1), .. "jp2h"u8, .. new byte[4], .. Be32(16)]), "JPEG 2000", "ihdr box missing");
    }

    [Test]
    public void Jp2_ExtendedSizeBoxBeforeJp2h_SkippedByItsSize()
    {
        byte[] xml = [.. Be32(1), .. "xml "u8, 0, 0, 0, 0, .. Be32(16 + 3), 1, 2, 3];
        Assert.That(Facts(Sniff(Jp2(xml, Box("jp2h", Ihdr(10, 20, 1, 7))))).Width, Is.EqualTo(20));
    }
}
