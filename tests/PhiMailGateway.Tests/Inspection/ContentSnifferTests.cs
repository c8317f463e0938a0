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
}
