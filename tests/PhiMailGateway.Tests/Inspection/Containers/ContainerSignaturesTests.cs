using System.Formats.Tar;
using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Inspection.Containers;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.Containers;

public class ContainerSignaturesTests
{
    private static SniffResult Sniff(byte[] bytes) => ContentSniffer.Sniff(bytes, bytes.Length);

    [Test]
    public void ContentSniffer_CompressedStreams_FamilyAndFormat()
    {
        var data = DentalCorpus.Dicom();
        Assert.Multiple(() =>
        {
            Assert.That((Sniff(ContainerFixtures.Gzip(data)).Family, Sniff(ContainerFixtures.Gzip(data)).Format), Is.EqualTo((ContentFamily.Compressed, "GZIP")));
            Assert.That(Sniff(ContainerFixtures.Bzip2(data)).Format, Is.EqualTo("BZIP2"));
            Assert.That(Sniff(ContainerFixtures.Xz(data)).Format, Is.EqualTo("XZ"));
            Assert.That(Sniff(ContainerFixtures.Zstd(data)).Format, Is.EqualTo("ZSTD"));
            Assert.That(Sniff(ContainerFixtures.Lzip(data)).Format, Is.EqualTo("LZIP"));
        });
    }

    [Test]
    public void ContentSniffer_TextThatStartsLikeBzip2_StaysText() =>
        Assert.That(Sniff(Encoding.ASCII.GetBytes("BZh9 is what the notes say, nothing more")).Family, Is.EqualTo(ContentFamily.Other));

    [TestCase(TarEntryFormat.Ustar)]
    [TestCase(TarEntryFormat.Gnu)]
    [TestCase(TarEntryFormat.Pax)]
    public void ContentSniffer_Tar_RecognisedByMagicAndChecksum(TarEntryFormat format)
    {
        var tar = ContainerFixtures.Tar(format, ("a.txt", "hello"u8.ToArray()));
        Assert.That(Sniff(tar).Family, Is.EqualTo(ContentFamily.Tar));
        tar[148] ^= 1;
        Assert.That(Sniff(tar).Family, Is.Not.EqualTo(ContentFamily.Tar), "a header whose checksum does not hold is not a tar");
    }

    [Test]
    public void ContentSniffer_PdfHeaderWithinTheFirstKilobyte_Pdf()
    {
        Assert.That(Sniff("%PDF-1.7\n"u8.ToArray()).Family, Is.EqualTo(ContentFamily.Pdf));
        Assert.That(Sniff([.. new byte[1000].Select(_ => (byte)'x'), .. "%PDF-1.4\n"u8]).Family, Is.EqualTo(ContentFamily.Pdf));
        Assert.That(Sniff([.. new byte[2000].Select(_ => (byte)'x'), .. "%PDF-1.4\n"u8]).Family, Is.Not.EqualTo(ContentFamily.Pdf), "past 1024 bytes no reader looks");
    }

    [Test]
    public void ContentSniffer_OpaqueContainers_FailClosedThroughTheClassifier()
    {
        var classifier = new DentalImageClassifier(new InspectionOptions());
        foreach (var file in new[] { ContainerFixtures.SevenZipStored([1, 2, 3]), ContainerFixtures.RarStored([1, 2, 3]), ContainerFixtures.Ole2([1, 2, 3]) })
        {
            var sniff = Sniff(file);
            Assert.That(sniff.Family, Is.EqualTo(ContentFamily.Opaque), sniff.Format);
            Assert.That(classifier.Classify(sniff, file.Length, null, null, false), Is.EqualTo((ImageKind.Unknown, $"{sniff.Format} content cannot be looked inside")));
        }
    }

    [Test]
    public void ContentSniffer_Rtf_RtfFamily() =>
        Assert.That(Sniff(@"{\rtf1\ansi hello}"u8.ToArray()).Family, Is.EqualTo(ContentFamily.Rtf));

    // ------------------------------------------------------------------ each signature's exact bytes

    private static byte[] Bytes(params int[] b) => b.Select(x => (byte)x).ToArray();

    [Test]
    public void CompressionFormat_GzipNeedsItsDeflateMethodByte()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x1F, 0x8B, 8)), Is.EqualTo("GZIP"));
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x1F, 0x8B, 7, 0, 0)), Is.Null, "method 7 is no gzip a reader opens");
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x1F, 0x8C, 8)), Is.Null);
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x1E, 0x8B, 8)), Is.Null);
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x1F, 0x8B)), Is.Null, "two bytes are too few, and are not read past");
        });
    }

    [Test]
    public void CompressionFormat_Bzip2NeedsLevelAndBlockOrEndMagic()
    {
        byte[] block = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
        byte[] end = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh9"u8, .. block]), Is.EqualTo("BZIP2"), "level 9 and a block");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh1"u8, .. block]), Is.EqualTo("BZIP2"), "level 1");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh9"u8, .. end]), Is.EqualTo("BZIP2"), "an empty stream: end-of-stream magic at once");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh0"u8, .. block]), Is.Null, "level 0 does not exist");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh:"u8, .. block]), Is.Null, "the byte after '9'");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh9"u8, .. block[..5]]), Is.Null, "nine bytes are too few");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh9"u8, .. block[..5], 0x58]), Is.Null, "a near miss of the block magic");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZh9"u8, .. end[..5], 0x91]), Is.Null, "a near miss of the end magic");
            Assert.That(ContainerSignatures.CompressionFormat([.. "BZx9"u8, .. block]), Is.Null);
        });
    }

    [Test]
    public void CompressionFormat_XzZstdLzip_ExactMagic()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0xFD, '7', 'z', 'X', 'Z', 0)), Is.EqualTo("XZ"));
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0xFD, '7', 'z', 'X', 'Z')), Is.Null, "five of the six magic bytes");
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x28, 0xB5, 0x2F, 0xFD)), Is.EqualTo("ZSTD"));
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x28, 0xB5, 0x2F)), Is.Null, "three of the four");
            Assert.That(ContainerSignatures.CompressionFormat(Bytes(0x28, 0xB5, 0x2F, 0xFE)), Is.Null);
            Assert.That(ContainerSignatures.CompressionFormat([.. "LZIP"u8, 1]), Is.EqualTo("LZIP"));
            Assert.That(ContainerSignatures.CompressionFormat([.. "LZIP"u8, 0]), Is.Null, "only version 1 exists");
            Assert.That(ContainerSignatures.CompressionFormat("LZIP"u8), Is.Null, "no version byte");
            Assert.That(ContainerSignatures.CompressionFormat("plain text"u8), Is.Null);
        });
    }

    [Test]
    public void OpaqueFormat_CabinetNeedsItsReservedZeroes()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.OpaqueFormat([.. "MSCF"u8, 0, 0, 0, 0]), Is.EqualTo("CAB"));
            Assert.That(ContainerSignatures.OpaqueFormat([.. "MSCF"u8, 1, 0, 0, 0]), Is.Null, "\"MSCF\" followed by anything but its reserved zeroes is text");
            Assert.That(ContainerSignatures.OpaqueFormat([.. "MSCF"u8, 0, 0, 0]), Is.Null, "seven bytes are too few");
            Assert.That(ContainerSignatures.OpaqueFormat([.. "MSCE"u8, 0, 0, 0, 0]), Is.Null);
            Assert.That(ContainerSignatures.OpaqueFormat(Bytes('7', 'z', 0xBC, 0xAF, 0x27, 0x1C)), Is.EqualTo("7Z"));
            Assert.That(ContainerSignatures.OpaqueFormat(Bytes('R', 'a', 'r', '!', 0x1A, 0x07)), Is.EqualTo("RAR"));
            Assert.That(ContainerSignatures.OpaqueFormat(Bytes(0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1)), Is.EqualTo("OLE2"));
            Assert.That(ContainerSignatures.OpaqueFormat("plain text"u8), Is.Null);
        });
    }

    [Test]
    public void IsWalkable_ContainersTheInspectorOpens_True()
    {
        var tar = ContainerFixtures.Tar(TarEntryFormat.Ustar, ("a.txt", "hello"u8.ToArray()));
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.IsWalkable(ContainerFixtures.Gzip([1, 2, 3])), Is.True, "gzip");
            Assert.That(ContainerSignatures.IsWalkable("%PDF-1.7\n"u8), Is.True, "PDF");
            Assert.That(ContainerSignatures.IsWalkable(@"{\rtf1 hello}"u8), Is.True, "RTF");
            Assert.That(ContainerSignatures.IsWalkable(tar), Is.True, "tar");
            Assert.That(ContainerSignatures.IsWalkable(ContainerFixtures.SevenZipStored([1, 2, 3])), Is.False, "7z is refused, not opened");
            Assert.That(ContainerSignatures.IsWalkable("plain text"u8), Is.False, "text");
        });
    }

    [Test]
    public void Sniff_PdfHeaderEndingAtTheWindowsLastByte_Pdf()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.IsPdf([.. Enumerable.Repeat((byte)'x', 1019), .. "%PDF-"u8]), Is.True, "the header's last byte is byte 1024");
            Assert.That(ContainerSignatures.IsPdf([.. Enumerable.Repeat((byte)'x', 1020), .. "%PDF-"u8]), Is.False, "one byte further is outside the window");
            Assert.That(ContainerSignatures.IsPdf("%PDF"u8), Is.False);
        });
    }

    [Test]
    public void Sniff_FamilyPerSignature_TheFirstMatchWins()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.Sniff([0x1F, 0x8B, 8, .. "%PDF-"u8])!.Family, Is.EqualTo(ContentFamily.Compressed), "gzip before PDF");
            Assert.That(ContainerSignatures.Sniff(@"{\rtf1 %PDF-1.4"u8)!.Family, Is.EqualTo(ContentFamily.Pdf), "a PDF header within the window before RTF");
            var rtf = ContainerSignatures.Sniff(@"{\rtf1 hello}"u8);
            Assert.That((rtf!.Family, rtf.Format), Is.EqualTo((ContentFamily.Rtf, "RTF")));
            var pdf = ContainerSignatures.Sniff("%PDF-1.7\n"u8);
            Assert.That((pdf!.Family, pdf.Format), Is.EqualTo((ContentFamily.Pdf, "PDF")));
            Assert.That(ContainerSignatures.Sniff("plain text"u8), Is.Null);
            var cab = ContainerSignatures.Sniff([.. "MSCF"u8, 0, 0, 0, 0]);
            Assert.That((cab!.Family, cab.Format, cab.Error), Is.EqualTo((ContentFamily.Opaque, "CAB", "CAB content cannot be looked inside")));
            var tar = ContainerSignatures.Sniff(ContainerFixtures.Tar(TarEntryFormat.Ustar, ("a.txt", "hello"u8.ToArray())));
            Assert.That((tar!.Family, tar.Format), Is.EqualTo((ContentFamily.Tar, "TAR")));
        });
    }

    /// <summary>A tar header whose checksum field is rewritten as <paramref name="field"/> ({0}: the octal sum in six digits).</summary>
    private static byte[] TarWithChecksumField(string field, int adjust = 0)
    {
        var tar = ContainerFixtures.Tar(TarEntryFormat.Ustar, ("a.txt", "hello"u8.ToArray()));
        long sum = 0;
        for (var i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : tar[i];
        var text = string.Format(field, Convert.ToString(sum + adjust, 8).PadLeft(6, '0'));
        Assert.That(text, Has.Length.EqualTo(8), "the checksum field is 8 bytes");
        Encoding.ASCII.GetBytes(text).CopyTo(tar, 148);
        return tar;
    }

    [Test]
    public void IsTar_ChecksumFieldSpellings_ReadAsReadersDo()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0}\0 ")), Is.True, "zero-padded, NUL and space after");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField(" {0}\0")), Is.True, "space-padded in front");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0} 7")), Is.True, "a digit after the terminator is not part of the sum");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0}\07")), Is.True, "nor after a NUL terminator");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0}\0 ", adjust: 1)), Is.False, "a sum one off");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0}x ")), Is.False, "a character that is no octal digit");
            Assert.That(ContainerSignatures.IsTar(TarWithChecksumField("{0}8 ")), Is.False, "8 is no octal digit");
        });
    }

    [Test]
    public void IsTar_ShortOrWithoutMagic_False()
    {
        var tar = ContainerFixtures.Tar(TarEntryFormat.Ustar, ("a.txt", "hello"u8.ToArray()));
        Assert.Multiple(() =>
        {
            Assert.That(ContainerSignatures.IsTar(tar.AsSpan(0, 512)), Is.True, "one header block is enough");
            Assert.That(ContainerSignatures.IsTar(tar.AsSpan(0, 511)), Is.False, "511 bytes are not a header");
            var noMagic = tar.ToArray();
            noMagic[261] = (byte)'s';
            Assert.That(ContainerSignatures.IsTar(noMagic), Is.False, "\"ustas\" at 257");
        });
    }
}
