using System.Security.Cryptography;
using System.Text;
using MimeKit;
using PhiMailGateway.Replies;

namespace PhiMailGateway.Tests.Replies;

public class ReplyMessageWriterTests
{
    private static readonly DateTimeOffset SentAt = new(2026, 12, 7, 14, 30, 0, TimeSpan.Zero);

    private static ReplyFile FileOf(string name, string type, byte[] bytes) =>
        new(name, type, _ => Task.FromResult<Stream>(new MemoryStream(bytes, writable: false)));

    private static SecureReply Reply(params ReplyFile[] files) =>
        new("dr.lee@endo.example", ["frontdesk@smiledental.example"], "X-rays for P. Jones", "<orig-1@smiledental.example>",
            "Post-op PA attached.\nHealing well — see you in 6 weeks.", files, SentAt);

    private static async Task<(MimeMessage Message, byte[] Raw)> WriteAsync(SecureReply reply)
    {
        using var output = new MemoryStream();
        await ReplyMessageWriter.WriteAsync(reply, "gateway@smiledental.example", "smiledental.example", output, CancellationToken.None);
        var raw = output.ToArray();
        return (await MimeMessage.LoadAsync(new MemoryStream(raw)), raw);
    }

    [Test]
    public async Task Reply_IsFromTheGatewayWithReplyToTheRecipientAndToThePracticeOnly()
    {
        var (message, _) = await WriteAsync(Reply());

        Assert.That(message.From.Mailboxes.Single().Address, Is.EqualTo("gateway@smiledental.example"));
        Assert.That(message.From.Mailboxes.Single().Name, Does.Contain("dr.lee@endo.example"), "the practice sees who replied");
        Assert.That(message.ReplyTo.Mailboxes.Select(m => m.Address), Is.EqualTo(new[] { "dr.lee@endo.example" }));
        Assert.That(message.To.Mailboxes.Select(m => m.Address), Is.EqualTo(new[] { "frontdesk@smiledental.example" }));
        Assert.That(message.Cc, Is.Empty);
        Assert.That(message.Bcc, Is.Empty);
        Assert.That(message.Subject, Is.EqualTo("Re: X-rays for P. Jones"));
        Assert.That(message.InReplyTo, Is.EqualTo("orig-1@smiledental.example"));
        Assert.That(message.References, Is.EqualTo(new[] { "orig-1@smiledental.example" }));
        Assert.That(message.MessageId, Does.EndWith("@smiledental.example"));
        Assert.That(message.Date, Is.EqualTo(SentAt));
        Assert.That(message.Headers[ReplyMessageWriter.ReplyHeader], Is.EqualTo("1"));
    }

    [Test]
    public async Task Reply_CarriesTheTextAndEachFileByteIdentical()
    {
        var dicom = new byte[70_000];
        new Random(7).NextBytes(dicom);
        "DICM"u8.CopyTo(dicom.AsSpan(128));
        var photo = Encoding.ASCII.GetBytes(new string('x', 5000) + "\r\n.\r\n" + "end");

        var (message, _) = await WriteAsync(Reply(FileOf("post-op.dcm", "application/dicom", dicom), FileOf("swelling.jpg", "image/jpeg", photo)));

        Assert.That(message.TextBody, Is.EqualTo("Post-op PA attached.\nHealing well — see you in 6 weeks.").Or.EqualTo("Post-op PA attached.\r\nHealing well — see you in 6 weeks."));
        var attachments = message.Attachments.OfType<MimePart>().ToList();
        Assert.That(attachments.Select(a => a.FileName), Is.EqualTo(new[] { "post-op.dcm", "swelling.jpg" }));
        Assert.That(attachments.Select(a => a.ContentType.MimeType), Is.EqualTo(new[] { "application/dicom", "image/jpeg" }));
        Assert.That(Decoded(attachments[0]), Is.EqualTo(SHA256.HashData(dicom)));
        Assert.That(Decoded(attachments[1]), Is.EqualTo(SHA256.HashData(photo)));
    }

    private static byte[] Decoded(MimePart part)
    {
        using var decoded = new MemoryStream();
        part.Content!.DecodeTo(decoded);
        return SHA256.HashData(decoded.ToArray());
    }

    [Test]
    public async Task Reply_LinesEndInCrlfAndNoLineIsLongerThanSmtpAllows()
    {
        var (_, raw) = await WriteAsync(Reply(FileOf("scan.stl", "model/stl", new byte[20_000])));

        var text = Encoding.UTF8.GetString(raw);
        Assert.That(text.Replace("\r\n", "", StringComparison.Ordinal), Does.Not.Contain("\n").And.Not.Contain("\r"), "only CRLF line ends");
        Assert.That(text.Split("\r\n").Max(l => l.Length), Is.LessThanOrEqualTo(998));
    }

    [TestCase("X-rays", "Re: X-rays")]
    [TestCase("Re: X-rays", "Re: X-rays")]
    [TestCase("RE: X-rays", "RE: X-rays")]
    [TestCase("  X-rays  ", "Re: X-rays")]
    [TestCase("", "Re: ")]
    public void Subject_PutsReInFrontOnce(string original, string expected) =>
        Assert.That(ReplyMessageWriter.Subject(original), Is.EqualTo(expected));

    [Test]
    public async Task Reply_FileNamesLoseBidiControlsAndFolders()
    {
        var (message, _) = await WriteAsync(Reply(FileOf("..\\invoice\u202Egpj.exe", "application/octet-stream", [1, 2, 3])));

        Assert.That(message.Attachments.OfType<MimePart>().Single().FileName, Is.EqualTo("_invoicegpj.exe"));
    }

    [Test]
    public async Task Reply_AnUnparsableContentTypeIsSentAsOctetStream()
    {
        var (message, _) = await WriteAsync(Reply(FileOf("notes.bin", "not a type", [1, 2, 3])));

        Assert.That(message.Attachments.OfType<MimePart>().Single().ContentType.MimeType, Is.EqualTo("application/octet-stream"));
    }

    [Test]
    public async Task Reply_EveryFileStreamIsClosedAfterwards()
    {
        var streams = new List<MemoryStream>();
        ReplyFile Tracked(string name) => new(name, "image/png", _ =>
        {
            var s = new MemoryStream([1, 2, 3]);
            streams.Add(s);
            return Task.FromResult<Stream>(s);
        });

        await WriteAsync(Reply(Tracked("a.png"), Tracked("b.png")));

        Assert.That(streams, Has.Count.EqualTo(2));
        Assert.That(streams.Select(s => s.CanRead), Is.All.False);
    }

    [Test]
    public void Reply_WithNoPracticeAddress_IsRefused() =>
        Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await WriteAsync(Reply() with { To = [] }));

    [Test]
    public async Task Reply_HeaderInjectionInTheSubjectStaysInTheSubject()
    {
        var (message, _) = await WriteAsync(Reply() with { OriginalSubject = "X-rays\r\nBcc: attacker@evil.example" });

        Assert.That(message.Bcc, Is.Empty);
        Assert.That(message.Headers.Contains("Bcc"), Is.False);
    }
}
