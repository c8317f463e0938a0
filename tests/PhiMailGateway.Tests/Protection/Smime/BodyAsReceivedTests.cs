using System.Text;
using MimeKit;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection.Smime;

public class BodyAsReceivedTests
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    /// <summary>What S/MIME encrypts, written from the spool, against MimeKit writing the parsed body entity.</summary>
    private static async Task AssertSameAsMimeKitAsync(MimeMessage original)
    {
        using var dir = new TempDirectory();
        var bytes = new MemoryStream();
        await original.WriteToAsync(CrLf, bytes);
        var message = bytes.ToArray();
        var path = Path.Combine(dir.Path, "Q1.msg");
        var head = Encoding.ASCII.GetBytes("PHIMAIL-SPOOL 1\r\n{}\r\n");
        await File.WriteAllBytesAsync(path, [.. head, .. message]);
        var envelope = new Envelope("office@smiledental.example", ["dr.lee@specialist.example"], null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        var spooled = new SpoolEntry("Q1", path, head.Length, message.Length, envelope);

        await using var source = spooled.OpenMessage();
        using var parsed = await MimeMessage.LoadAsync(source, persistent: true);
        var expected = new MemoryStream();
        var body = parsed.Body!;
        await body.WriteToAsync(CrLf, expected);
        var actual = new MemoryStream();
        await SmimeProtector.WriteBodyAsReceivedAsync(spooled, body, actual, CancellationToken.None);
        Assert.That(Encoding.ASCII.GetString(actual.ToArray()), Is.EqualTo(Encoding.ASCII.GetString(expected.ToArray())));
    }

    [Test]
    public async Task SinglePartTextMessage_IsWrittenAsMimeKitWouldWriteIt()
    {
        var message = new MimeMessage { Subject = "Referral", Body = new TextPart("plain") { Text = "Dear colleague,\r\nplease see the patient.\r\n" } };
        message.From.Add(MailboxAddress.Parse("office@smiledental.example"));
        await AssertSameAsMimeKitAsync(message);
    }

    [Test]
    public async Task MultipartWithXray_IsWrittenAsMimeKitWouldWriteIt()
    {
        await AssertSameAsMimeKitAsync(DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg")));
    }
}
