using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class ContentSnifferTests
{
    private static SniffResult Sniff(byte[] bytes) => ContentSniffer.Sniff(bytes, bytes.Length);

    [Test]
    public void ContentSniffer_GrayscaleJpeg_ReadsFrameHeader()
    {
        var r = Sniff(DentalCorpus.PanoramicJpeg());
        Assert.That((r.Format, r.Width, r.Height, r.Components, r.Grayscale), Is.EqualTo(("JPEG", (int?)2000, (int?)1000, (int?)1, (bool?)true)));
    }

    [Test]
    public void ContentSniffer_ColourJpeg_ThreeComponents()
    {
        var r = Sniff(DentalCorpus.IntraoralPhotoJpeg());
        Assert.That((r.Width, r.Height, r.Components, r.Grayscale), Is.EqualTo(((int?)1600, (int?)1200, (int?)3, (bool?)false)));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ContentSniffer_Tiff16_BothByteOrders(bool bigEndian)
    {
        var r = Sniff(DentalCorpus.Tiff16(bigEndian: bigEndian));
        Assert.That((r.Format, r.Width, r.Height, r.BitDepth, r.Grayscale), Is.EqualTo(("TIFF", (int?)512, (int?)400, (int?)16, (bool?)true)));
    }

    [Test]
    public void ContentSniffer_Png_ReadsIhdr()
    {
        var r = Sniff(DentalCorpus.Png(300, 200, colourType: 0));
        Assert.That((r.Format, r.Width, r.Height, r.Grayscale), Is.EqualTo(("PNG", (int?)300, (int?)200, (bool?)true)));
    }

    [Test]
    public void ContentSniffer_Jpeg2000Codestream_ReadsSiz()
    {
        byte[] siz = [0xFF, 0x4F, 0xFF, 0x51, 0x00, 0x29, 0x00, 0x00,
            0, 0, 0x03, 0xE8, 0, 0, 0x02, 0x58, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xE8, 0, 0, 0x02, 0x58, 0, 0, 0, 0, 0, 0, 0, 0,
            0x00, 0x01, 0x0F, 0x01, 0x01];
        var r = Sniff(siz);
        Assert.That((r.Format, r.Width, r.Height, r.BitDepth, r.Grayscale), Is.EqualTo(("JPEG 2000", (int?)1000, (int?)600, (int?)16, (bool?)true)));
    }

    [Test]
    public void ContentSniffer_Stl_BinaryAndAscii()
    {
        Assert.That(Sniff(DentalCorpus.StlBinary()).Format, Is.EqualTo("STL (binary)"));
        Assert.That(Sniff(DentalCorpus.StlAscii()).Format, Is.EqualTo("STL (ASCII)"));
    }

    [Test]
    public void ContentSniffer_PlyAndObj_AreMeshes()
    {
        Assert.That(Sniff(Encoding.ASCII.GetBytes("ply\nformat binary_little_endian 1.0\nelement vertex 3\nend_header\n\0\0\0")).Family, Is.EqualTo(ContentFamily.Mesh));
        Assert.That(Sniff(Encoding.ASCII.GetBytes("# scan\nv 0.1 0.2 0.3\nv 1 2 3\nv 4 5 6\nvn 0 0 1\nf 1 2 3\n")).Format, Is.EqualTo("OBJ"));
    }

    [TestCase("Dear doctor,\nv 1 2 3 is how I write vectors.\nThanks\n")]
    [TestCase("name,tooth,date\nTEST,14,2024-01-02\n")]
    [TestCase("solid advice: floss daily\n")]
    public void ContentSniffer_PlainText_IsNotAScan(string text) =>
        Assert.That(Sniff(Encoding.ASCII.GetBytes(text)).Family, Is.EqualTo(ContentFamily.Other));

    [Test]
    public void ContentSniffer_JpegWithoutFrameHeader_IsBroken()
    {
        var r = Sniff([0xFF, 0xD8, 0xFF, 0xD9]);
        Assert.That(r.Family, Is.EqualTo(ContentFamily.Raster));
        Assert.That(r.Error, Is.Not.Null);
    }

    private static byte[] Padded(byte[] start, int length = 64)
    {
        var bytes = new byte[Math.Max(length, start.Length)];
        start.CopyTo(bytes, 0);
        return bytes;
    }

    private static byte[] Ascii(string text) => System.Text.Encoding.Latin1.GetBytes(text);

    private static byte[] Bmp(uint dibSize)
    {
        var bytes = Padded(Ascii("BM"), 64);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(14), dibSize);
        return bytes;
    }

    [TestCase("II*\0", "TIFF")]
    [TestCase("MM\0*", "TIFF")]
    [TestCase("II+\0", "TIFF")]
    [TestCase("MM\0+", "TIFF")]
    [TestCase("GIF87a", "GIF")]
    [TestCase("GIF89a", "GIF")]
    [TestCase("RIFF\0\0\0\0WEBPVP8 ", "WebP")]
    [TestCase("\0\0\0\u0018ftypheic", "HEIC", TestName = "{m}(ftypheic,HEIC)")]
    [TestCase("\0\0\0\u0018ftypmif1", "HEIF", TestName = "{m}(ftypmif1,HEIF)")]
    [TestCase("\0\0\0\u0018ftypavif", "AVIF", TestName = "{m}(ftypavif,AVIF)")]
    [TestCase("\0\0\0\x0CjP  \r\n\x87\n", "JPEG 2000", TestName = "{m}(jP box,JPEG 2000)")]
    [TestCase("\xFF\x4F\xFF\x51", "JPEG 2000")]
    [TestCase("\xFF\xD8\xFF", "JPEG")]
    [TestCase("\x89PNG\r\n\x1A\n", "PNG", TestName = "{m}(PNG,PNG)")]
    public void ContentSniffer_RasterSignature_IsARasterOfThatFormatEvenWhenItsHeaderIsBroken(string signature, string format)
    {
        var sniff = ContentSniffer.Sniff(Padded(Ascii(signature)), 64);
        Assert.That((sniff.Family, sniff.Format), Is.EqualTo((ContentFamily.Raster, format)), "a raster whose header is unreadable still fails closed as that raster");
    }

    [TestCase(12u)]
    [TestCase(40u)]
    [TestCase(52u)]
    [TestCase(56u)]
    [TestCase(64u)]
    [TestCase(108u)]
    [TestCase(124u)]
    public void ContentSniffer_BmpWithAKnownHeaderSize_IsABmp(uint dibSize)
    {
        Assert.That(ContentSniffer.Sniff(Bmp(dibSize), 64).Format, Is.EqualTo("BMP"));
    }

    [TestCase("BM")]
    [TestCase("GIF88a")]
    [TestCase("RIFF\0\0\0\0WAVEfmt ")]
    [TestCase("\0\0\0\u0018ftypisom", TestName = "{m}(ftypisom)")]
    public void ContentSniffer_NearMissSignature_IsNotThatFormat(string start)
    {
        var sniff = ContentSniffer.Sniff(Padded(Ascii(start)), 64);
        Assert.That(sniff.Family, Is.EqualTo(ContentFamily.Other), sniff.Format);
        Assert.That(ContentSniffer.Sniff(Bmp(41), 64).Family, Is.EqualTo(ContentFamily.Other), "BM with an unknown header size is not a bitmap");
    }

    [TestCase("PK\x03\x04", TestName = "{m}(local header)")]
    [TestCase("PK\x05\x06", TestName = "{m}(end record)")]
    [TestCase("PK\x07\x08", TestName = "{m}(spanned marker)")]
    public void ContentSniffer_ZipSignatures_AreArchives(string start)
    {
        var sniff = ContentSniffer.Sniff(Padded(Ascii(start)), 64);
        Assert.That((sniff.Family, sniff.Format), Is.EqualTo((ContentFamily.Archive, "ZIP")));
        Assert.That(ContentSniffer.IsZip(Ascii(start[..3])), Is.False, "three bytes are not a zip signature");
    }

    [Test]
    public void ContentSniffer_TnefSignature_IsTnef()
    {
        var sniff = ContentSniffer.Sniff(Padded([0x78, 0x9F, 0x3E, 0x22]), 64);
        Assert.That((sniff.Family, sniff.Format), Is.EqualTo((ContentFamily.Tnef, "TNEF")));
        Assert.That(ContentSniffer.IsTnef([0x78, 0x9F, 0x3E]), Is.False);
    }

    [Test]
    public void ContentSniffer_DicomWithSamplesPerPixel_SaysWhetherItIsGrayscale()
    {
        var sniff = ContentSniffer.Sniff(DentalCorpus.Dicom(), DentalCorpus.Dicom().Length);
        Assert.That((sniff.Family, sniff.Format, sniff.Width, sniff.Height), Is.EqualTo((ContentFamily.Dicom, "DICOM", (int?)1500, (int?)1000)));
        Assert.That(sniff.Grayscale, Is.EqualTo(sniff.Components is { } c ? c == 1 : (bool?)null));
        Assert.That(sniff.Dicom, Is.Not.Null);
    }

    [TestCase("tab\there\r\nand a form feed\f and a vertical tab\v", "Text")]
    [TestCase("an escape \x1B[0m is text", "Text", TestName = "{m}(escape,Text)")]
    [TestCase("a NUL \0 is binary", "Binary")]
    [TestCase("a bell \a is binary", "Binary")]
    [TestCase("a shift-out \x0E is binary", "Binary", TestName = "{m}(shift-out,Binary)")]
    [TestCase("a unit separator \x1F is binary", "Binary", TestName = "{m}(unit separator,Binary)")]
    public void ContentSniffer_TextOrBinary_ByItsControlCharacters(string content, string format)
    {
        Assert.That(ContentSniffer.Sniff(Ascii(content), content.Length).Format, Is.EqualTo(format));
    }

    [Test]
    public void ContentSniffer_ControlCharacterAfterTheFirst4096Bytes_StillText()
    {
        var content = new string('a', 4096) + "\0";
        Assert.That(ContentSniffer.Sniff(Ascii(content), content.Length).Format, Is.EqualTo("Text"), "only the first 4 KiB are sampled");
        var early = new string('a', 4095) + "\0";
        Assert.That(ContentSniffer.Sniff(Ascii(early), early.Length).Format, Is.EqualTo("Binary"));
    }
    [Test]
    public void ContentSniffer_ZipAndTnefSignaturesOfExactlyFourBytes_Recognised()
    {
        Assert.That(ContentSniffer.IsZip(Ascii("PK\x03\x04")), Is.True, "the four signature bytes alone");
        Assert.That(ContentSniffer.IsTnef([0x78, 0x9F, 0x3E, 0x22]), Is.True);
    }

    [Test]
    public void ContentSniffer_DicomCutShort_DamagedOnlyWhenThePartEndsThere()
    {
        var full = DentalCorpus.Dicom();
        var prefix = full.AsSpan(0, 300);
        var truncated = ContentSniffer.Sniff(prefix, 300).Dicom!;
        Assert.That((truncated.Damaged, truncated.IncompleteReason), Is.EqualTo((true, "element (0008,0018) length 16 runs past the end of the data")), "the whole part is 300 bytes: it is cut");
        var atLimit = ContentSniffer.Sniff(prefix, full.Length).Dicom!;
        Assert.That((atLimit.Damaged, atLimit.IncompleteReason), Is.EqualTo((false, "scan limit reached inside an element")), "more of the part follows the prefix");
    }

    [TestCase("")]
    [TestCase("FF")]
    [TestCase("FFD8")]
    [TestCase("424D")]
    public void ContentSniffer_FewerBytesThanAnySignature_BinaryOrTextNotAnException(string hex)
    {
        var bytes = Convert.FromHexString(hex);
        Assert.That(ContentSniffer.Sniff(bytes, bytes.Length).Family, Is.EqualTo(ContentFamily.Other));
    }

    [Test]
    public void ContentSniffer_SignatureOfExactlyTheLengthChecked_IsThatRasterBrokenNotOther()
    {
        // Each is the shortest prefix its signature check accepts: too short for a header, so a broken raster (Unknown).
        var bmp = (byte[])[.. Ascii("BM"), .. new byte[12], 40, 0, 0, 0];
        var webp = Ascii("RIFF\0\0\0\0WEBP");
        var jpeg = (byte[])[0xFF, 0xD8, 0xFF];
        foreach (var (bytes, format) in new[] { (bmp, "BMP"), (webp, "WebP"), (jpeg, "JPEG") })
        {
            var sniff = ContentSniffer.Sniff(bytes, bytes.Length);
            Assert.That((sniff.Family, sniff.Format, sniff.Error is not null), Is.EqualTo((ContentFamily.Raster, format, true)), format);
        }
        var heic = ContentSniffer.Sniff(Ascii("\0\0\0\u0018ftypheic"), 12);
        Assert.That((heic.Family, heic.Format), Is.EqualTo((ContentFamily.Raster, "HEIC")), "twelve bytes hold the brand");
    }

    [Test]
    public void ContentSniffer_SecondHalfOfASignatureAlone_NotThatFormat()
    {
        var dibSizeOnly = Padded([.. Ascii("XY"), .. new byte[12], 40, 0, 0, 0]);
        Assert.That(ContentSniffer.Sniff(dibSizeOnly, 64).Family, Is.EqualTo(ContentFamily.Other), "a DIB size at 14 without BM");
        Assert.That(ContentSniffer.Sniff(Padded(Ascii("RIFX\0\0\0\0WEBPVP8 ")), 64).Family, Is.EqualTo(ContentFamily.Other), "WEBP without RIFF");
        Assert.That(ContentSniffer.Sniff(Padded(Ascii("\0\0\0\u0018ftyqheic")), 64).Family, Is.EqualTo(ContentFamily.Other), "a HEIF brand without ftyp");
    }

    [Test]
    public void ContentSniffer_BigTiff_BrokenTiffSayingWhy()
    {
        var sniff = ContentSniffer.Sniff(Padded(Ascii("II+\0")), 64);
        Assert.That((sniff.Family, sniff.Format, sniff.Error), Is.EqualTo((ContentFamily.Raster, "TIFF", "BigTIFF headers are not read")));
    }

    [Test]
    public void ContentSniffer_MailHeaders_AreAMessage()
    {
        var mail = Ascii("From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n");
        var sniff = ContentSniffer.Sniff(mail, mail.Length);
        Assert.That((sniff.Family, sniff.Format), Is.EqualTo((ContentFamily.Message, "Message")));
    }
}
