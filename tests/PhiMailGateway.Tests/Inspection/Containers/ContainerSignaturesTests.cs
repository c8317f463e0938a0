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
}
