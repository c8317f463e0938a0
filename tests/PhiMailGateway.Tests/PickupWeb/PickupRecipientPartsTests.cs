using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>What the recipient sees (issue 22 item 10): downloads counted per file, times in the practice's zone, DICOM previews and how to open DICOM.</summary>
public class PickupRecipientPartsTests
{
    [Test]
    public async Task PickupPage_MaxDownloadsOneAndTwoFiles_EachFileOnceAndThenThePackageIsUsedUp()
    {
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Pickup:MaxDownloads"] = "1" });
        const string recipient = "two.files@home.example";
        var dicom = DentalCorpus.Dicom();
        var photo = DentalCorpus.IntraoralPhotoJpeg();
        var delivery = await bed.SendAsync(PickupTestBed.Message("Referral", ("left.dcm", dicom, "application/dicom"), ("photo.jpg", photo, "image/jpeg")), recipient);
        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);

        var first = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), "file 1 of 2");
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain("0 of 1 download left").And.Contain("1 of 1 download left"), "each file says what it has left");
        Assert.That(list, Does.Not.Contain("all.zip"), "no zip once a file in it is used up");
        var second = await client.GetAsync($"/p/{delivery.Token}/files/1");
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK), "file 2 of 2 still downloads after file 1 used its one download");
        Assert.That(await second.Content.ReadAsByteArrayAsync(), Is.EqualTo(photo));

        var again = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Gone));
        Assert.That(await bed.QueryAsync<long>("SELECT download_count FROM pickup_packages WHERE package_id = @id", new { id = delivery.PackageId }), Is.EqualTo(1));
        var landing = await client.GetAsync($"/p/{delivery.Token}");
        Assert.That(landing.StatusCode, Is.EqualTo(HttpStatusCode.Gone), "every file used up: the package is");
        Assert.That(await landing.Content.ReadAsStringAsync(), Does.Contain("used up"));
    }

    [Test]
    public async Task PickupPage_ZipOfAll_CountsOneDownloadForEachFile()
    {
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Pickup:MaxDownloads"] = "2" });
        const string recipient = "zip.files@home.example";
        var delivery = await bed.SendAsync(PickupTestBed.Message("Referral", ("left.dcm", DentalCorpus.Dicom(), "application/dicom"),
            ("photo.jpg", DentalCorpus.IntraoralPhotoJpeg(), "image/jpeg")), recipient);
        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);
        Assert.That((await client.GetAsync($"/p/{delivery.Token}/all.zip")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync($"/p/{delivery.Token}/files/1")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await client.GetAsync($"/p/{delivery.Token}/files/1")).StatusCode, Is.EqualTo(HttpStatusCode.Gone), "zip + one = two downloads of file 2");
        Assert.That((await client.GetAsync($"/p/{delivery.Token}/files/0")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "file 1 had only the zip");
    }

    [Test]
    public async Task PickupNoticeAndPage_TimeZoneNewYork_ExpiryInThatZoneWithItsAbbreviation()
    {
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?> { ["Pickup:TimeZone"] = "America/New_York" });
        const string recipient = "zone@home.example";
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), recipient);
        var package = (await bed.Store.FindAsync(delivery.PackageId, CancellationToken.None))!;
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var local = TimeZoneInfo.ConvertTime(package.Expires, zone);
        var expected = $"{local:d MMMM yyyy, HH:mm} {(zone.IsDaylightSavingTime(package.Expires) ? "EDT" : "EST")}";
        Assert.That(delivery.Parsed.TextBody, Does.Contain("The link works until " + expected), "the notice");
        Assert.That(PickupTestBed.Text(delivery.Notice), Does.Not.Contain(" UTC"));
        using var client = bed.Client();
        var landing = await client.GetStringAsync($"/p/{delivery.Token}");
        Assert.That(landing, Does.Contain(expected), "the page");
    }

    [Test]
    public async Task PickupPage_UncompressedDicom_RenderedPngPreviewUnderTheSessionAndAHintWhatOpensIt()
    {
        await using var bed = await PickupTestBed.StartAsync();
        const string recipient = "dicom.preview@home.example";
        var delivery = await bed.SendAsync(PickupTestBed.Message("Referral", ("bitewing.dcm", DentalCorpus.DicomWithPicture(300, 400), "application/dicom")), recipient);

        using (var scanner = bed.Client())
        {
            var unsigned = await scanner.GetAsync($"/p/{delivery.Token}/files/0/preview");
            Assert.That(unsigned.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), "a mail scanner without the code gets no picture");
            Assert.That(unsigned.Content.Headers.ContentType?.MediaType, Is.Not.EqualTo("image/png"));
        }

        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain($"/p/{delivery.Token}/files/0/preview").And.Contain("alt=\"Preview of bitewing.dcm\""));
        Assert.That(list, Does.Contain(WebUtility.HtmlEncode(PickupPages.DicomHint)), "the page says what opens a DICOM file");

        var preview = await client.GetAsync($"/p/{delivery.Token}/files/0/preview");
        Assert.That(preview.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(preview.Content.Headers.ContentType?.MediaType, Is.EqualTo("image/png"));
        var (width, height, rows) = Png(await preview.Content.ReadAsByteArrayAsync());
        Assert.That((width, height), Is.EqualTo((400, 300)));
        Assert.That(rows[0][0], Is.LessThan(10), "the dark end of the gradient");
        Assert.That(rows[0][^1], Is.GreaterThan(245), "the bright end: the pixel range is windowed to the full grey scale");
        var downloads = await bed.QueryAsync<long>("SELECT download_count FROM pickup_files WHERE package_id = @id", new { id = delivery.PackageId });
        Assert.That(downloads, Is.Zero, "a preview is not a download");
    }

    [Test]
    public async Task PickupPage_DicomWithoutRenderablePixels_NoPreviewButTheHint()
    {
        await using var bed = await PickupTestBed.StartAsync();
        const string recipient = "dicom.nopreview@home.example";
        var delivery = await bed.SendAsync(PickupTestBed.Message("Referral", ("left.dcm", DentalCorpus.Dicom(), "application/dicom")), recipient);
        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Not.Contain("/files/0/preview"), "no broken picture");
        Assert.That(list, Does.Contain(WebUtility.HtmlEncode(PickupPages.DicomHint)));
        Assert.That((await client.GetAsync($"/p/{delivery.Token}/files/0/preview")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    /// <summary>Width, height and the grey value rows of an 8-bit grayscale PNG with unfiltered scanlines (what the preview writes).</summary>
    internal static (int Width, int Height, byte[][] Rows) Png(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        int width = 0, height = 0;
        var idat = new MemoryStream();
        for (var at = 8; at < png.Length;)
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            var type = System.Text.Encoding.ASCII.GetString(png, at + 4, 4);
            var data = png.AsSpan(at + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.That(data[9], Is.Zero, "grayscale");
            }
            if (type == "IDAT") idat.Write(data);
            at += 12 + length;
        }
        idat.Position = 0;
        using var inflated = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(inflated);
        var raster = inflated.ToArray();
        var rows = Enumerable.Range(0, height).Select(y => raster.AsSpan(y * (width + 1) + 1, width).ToArray()).ToArray();
        return (width, height, rows);
    }
}
