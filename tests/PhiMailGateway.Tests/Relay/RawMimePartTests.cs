using System.Text;
using MimeKit;
using PhiMailGateway.Relay;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Relay;

public class RawMimePartTests
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    private static async Task<(byte[] MimeKits, byte[] Raw)> WriteBothAsync(byte[] message)
    {
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, message);
            await using var a = File.OpenRead(path);
            using var plain = await MimeMessage.LoadAsync(a, persistent: true);
            await using var b = File.OpenRead(path);
            using var raw = await MimeMessage.LoadAsync(RawMimePart.CreateParserOptions(), b, persistent: true);
            Assert.That(raw.BodyParts.OfType<RawMimePart>(), Is.Not.Empty, "the image part is parsed as a raw part");
            var x = new MemoryStream();
            await plain.WriteToAsync(CrLf, x);
            var y = new MemoryStream();
            await raw.WriteToAsync(CrLf, y);
            // MailKit measures before sending (SIZE, and BDAT's exact length): raw parts only report their length.
            using var measuredSync = new MimeKit.IO.MeasuringStream();
            raw.WriteTo(CrLf, measuredSync);
            using var measuredAsync = new MimeKit.IO.MeasuringStream();
            await raw.WriteToAsync(CrLf, measuredAsync);
            Assert.That(measuredSync.Length, Is.EqualTo(y.Length), "measured (sync) as written");
            Assert.That(measuredAsync.Length, Is.EqualTo(y.Length), "measured (async) as written");
            return (x.ToArray(), y.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task MultipartWithXrays_WrittenRaw_IsByteForByteWhatMimeKitWrites()
    {
        // Queued files always have CRLF line ends (the spool normalises them, copies are written so).
        var bytes = new MemoryStream();
        await DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg"), ("ceph.dcm", DentalCorpus.Dicom(), "application/dicom")).WriteToAsync(CrLf, bytes);
        var (mimeKits, raw) = await WriteBothAsync(bytes.ToArray());
        Assert.That(Encoding.ASCII.GetString(raw), Is.EqualTo(Encoding.ASCII.GetString(mimeKits)));
    }

    [Test]
    public async Task SinglePartBase64Message_WrittenRaw_IsByteForByteWhatMimeKitWrites()
    {
        var part = new MimePart("application", "pkcs7-mime") { Content = new MimeContent(new MemoryStream(DentalCorpus.PanoramicJpeg())), ContentTransferEncoding = ContentEncoding.Base64 };
        var message = new MimeMessage { Subject = "encrypted", Body = part };
        message.From.Add(MailboxAddress.Parse("office@smiledental.example"));
        message.To.Add(MailboxAddress.Parse("dr.lee@specialist.example"));
        var bytes = new MemoryStream();
        await message.WriteToAsync(CrLf, bytes);
        var (mimeKits, raw) = await WriteBothAsync(bytes.ToArray());
        Assert.That(Encoding.ASCII.GetString(raw), Is.EqualTo(Encoding.ASCII.GetString(mimeKits)));
    }
}
