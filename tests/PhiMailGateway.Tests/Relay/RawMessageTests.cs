using System.Text;
using MimeKit;
using MimeKit.IO;
using PhiMailGateway.Relay;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Relay;

public class RawMessageTests
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    private static string Single(string contentHeaders, string body) =>
        "From: Front Desk <frontdesk@practice.example>\r\n" +
        "To: dr.lee@specialist.example\r\n" +
        "Subject: =?utf-8?q?R=C3=B6ntgen?= folded\r\n   over two lines\r\n" +
        "Message-ID: <raw.1@practice.example>\r\n" +
        contentHeaders +
        "\r\n" + body;

    public static IEnumerable<TestCaseData> SinglePartMessages()
    {
        var base64 = Convert.ToBase64String(DentalCorpus.PanoramicJpeg(), Base64FormattingOptions.InsertLineBreaks) + "\r\n";
        yield return new TestCaseData(Single("MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n", base64)).SetName("S/MIME-like base64 body");
        yield return new TestCaseData(Single("Content-Type: text/plain; charset=us-ascii\r\n", ".a line with a dot\r\n.\r\n..two\r\ntrailing   \r\n")).SetName("7bit text with dot lines");
        yield return new TestCaseData(Single("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n", "Grüße aus der Praxis\r\n")).SetName("8bit text");
        yield return new TestCaseData(Single("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n", "Gr=C3=BC=C3=9Fe=\r\n aus der Praxis\r\n")).SetName("quoted-printable text");
        yield return new TestCaseData(Single("", "no content headers at all\r\n")).SetName("no Content-Type header");
        yield return new TestCaseData(Single("Content-Type: text/plain\r\n", "")).SetName("empty body");
    }

    [TestCaseSource(nameof(SinglePartMessages))]
    public async Task SinglePart_LoadedFromItsHeaders_WritesTheBytesAFullParseWrites_AndMeasuresThem(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var path = Path.GetTempFileName();
        await File.WriteAllBytesAsync(path, bytes);
        try
        {
            await using var forFull = File.OpenRead(path);
            using var full = await MimeMessage.LoadAsync(RawMimePart.CreateParserOptions(), forFull, persistent: true);
            var expected = new MemoryStream();
            await full.WriteToAsync(CrLf, expected);

            await using var forRaw = File.OpenRead(path);
            using var raw = await RawMessage.TryLoadAsync(RawMimePart.CreateParserOptions(), forRaw, CancellationToken.None);
            Assert.That(raw, Is.Not.Null);
            var written = new MemoryStream();
            await raw!.WriteToAsync(CrLf, written);
            using var measured = new MeasuringStream();
            await raw.WriteToAsync(CrLf, measured);

            Assert.That(Encoding.UTF8.GetString(written.ToArray()), Is.EqualTo(Encoding.UTF8.GetString(expected.ToArray())), "readable diff on failure");
            Assert.That(measured.Length, Is.EqualTo(written.Length));
            Assert.That(((MimePart)raw.Body!).ContentTransferEncoding, Is.EqualTo(((MimePart)full.Body!).ContentTransferEncoding), "MailKit picks its extensions from this");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task MultipartOrAttachedMessage_IsLeftToTheFullParse_WithThePositionUnchanged()
    {
        var multipart = new MemoryStream();
        await DentalCorpus.WithAttachments(("pano.jpg", DentalCorpus.PanoramicJpeg(), "image/jpeg")).WriteToAsync(CrLf, multipart);
        var attached = new MemoryStream(Encoding.ASCII.GetBytes(Single("Content-Type: message/rfc822\r\n", "Subject: inner\r\n\r\nhello\r\n")));
        foreach (var stream in new[] { multipart, attached })
        {
            stream.Position = 0;
            Assert.That(await RawMessage.TryLoadAsync(RawMimePart.CreateParserOptions(), stream, CancellationToken.None), Is.Null);
            Assert.That(stream.Position, Is.EqualTo(0));
        }
    }
}
