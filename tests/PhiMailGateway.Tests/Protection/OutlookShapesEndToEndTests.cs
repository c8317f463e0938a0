using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using PhiMailGateway.Certificates;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.Protection.Smime;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection;

/// <summary>
/// What Outlook sends, through the whole gateway over SMTP: a winmail.dat carrying a DICOM (rich-text
/// mode, the message's text only inside the TNEF), and HTML with a <c>cid:</c> bitewing pasted in.
/// The recipient must get files and text they can open, whichever protection applies.
/// </summary>
public class OutlookShapesEndToEndTests
{
    private const string TnefText = "Please find the bitewing for tomorrow's consult.";
    private static readonly byte[] Xray = DentalCorpus.Dicom();

    /// <summary>Rich-text Outlook: the mail's only part is winmail.dat, which holds the text and the X-ray.</summary>
    private static MimeMessage RichTextOutlookMessage(string to)
    {
        var message = DentalCorpus.Message("Referral");
        message.To.Clear();
        message.To.Add(MailboxAddress.Parse(to));
        var winmail = new MimePart("application", "ms-tnef")
        {
            FileName = "winmail.dat",
            ContentTransferEncoding = ContentEncoding.Base64,
            Content = new MimeContent(new MemoryStream(DentalCorpus.Tnef(TnefText, ("bitewing-left.dcm", Xray)))),
        };
        message.Body = new Multipart("mixed") { winmail };
        return message;
    }

    private static IEnumerable<MimePart> Leaves(MimeEntity entity) => entity switch
    {
        Multipart multipart => multipart.SelectMany(Leaves),
        MimePart part => [part],
        _ => [],
    };

    private static byte[] Decoded(MimePart part)
    {
        using var s = new MemoryStream();
        part.Content!.DecodeTo(s);
        return s.ToArray();
    }

    [Test]
    public async Task Pickup_TnefWinmailDatWithDicom_PageOffersTheDicomByNameAndTheMailKeepsTheText()
    {
        const string recipient = "patient.tnef@home.example";
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(RichTextOutlookMessage(recipient), recipient);

        var mail = PickupTestBed.Text(delivery.Notice);
        Assert.That(mail, Does.Not.Contain("winmail.dat").And.Not.Contain("ms-tnef"), "no winmail.dat goes to the recipient");
        var texts = delivery.Parsed.BodyParts.OfType<TextPart>().Where(t => t.IsPlain).Select(t => t.Text).ToList();
        Assert.That(texts, Has.Some.Contains(TnefText), "the message's own text, which was only inside the TNEF, stays with the mail");

        using var client = bed.Client();
        await bed.SignInAsync(client, delivery, recipient);
        var list = await client.GetStringAsync($"/p/{delivery.Token}/files");
        Assert.That(list, Does.Contain("bitewing-left.dcm").And.Contain("DICOM image"), "the file inside, by its real name and kind");
        Assert.That(list, Does.Not.Contain("winmail.dat"));
        var download = await client.GetAsync($"/p/{delivery.Token}/files/0");
        Assert.That(download.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await download.Content.ReadAsByteArrayAsync(), Is.EqualTo(Xray), "the DICOM, byte for byte");
        var file = (await bed.Store.FilesAsync((await bed.Store.FindAsync(delivery.PackageId, CancellationToken.None))!, CancellationToken.None)).Single();
        Assert.That(file.ContentType, Is.EqualTo("application/dicom"), "the type read from the bytes, not octet-stream");
    }

    [Test]
    public async Task Smime_TnefWinmailDatWithDicom_OpensslDecryptsTheDicomPartByNameAndNoTnef()
    {
        const string lee = "dr.lee@specialist.example";
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var gw = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(upstream));
        await gw.AddUserAsync("frontdesk", "correct horse");
        var certificate = TestCertificates.CreateRecipient(lee, TestCertificates.Ca);
        await gw.Services.GetRequiredService<ICertificateStore>().ImportAsync(
            new CertificateBundle([GatewaySecureMimeContextTests.Bc(certificate)], []), null, CancellationToken.None);

        await RelayEndToEndTests.SubmitAsync(gw, PickupTestBed.Wire(RichTextOutlookMessage(lee)), lee);
        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30))).Single();
        Assert.That(MimeMessage.Load(new MemoryStream(relayed.Data)).Body!.ContentType.MimeType, Is.EqualTo("application/pkcs7-mime"), "encrypted");

        using var files = new TempDirectory();
        var eml = Path.Combine(files.Path, "msg.eml");
        await File.WriteAllBytesAsync(eml, relayed.Data);
        var output = Path.Combine(files.Path, "msg.decrypted");
        var result = Openssl.Run("cms", "-decrypt", "-in", eml, "-inkey", TestCertificates.WriteKey(Path.Combine(files.Path, "lee.key"), certificate),
            "-recip", TestCertificates.WritePem(Path.Combine(files.Path, "lee.crt"), certificate), "-out", output);
        Assert.That(result.ExitCode, Is.EqualTo(0), "openssl cms -decrypt: " + result.Error);

        var leaves = Leaves(MimeEntity.Load(output)).ToList();
        Assert.That(leaves.Select(p => p.ContentType.MimeType), Has.None.Contains("tnef"), "no application/ms-tnef inside the envelope");
        var dicom = leaves.Single(p => p.FileName == "bitewing-left.dcm");
        Assert.That(dicom.ContentType.MimeType, Is.EqualTo("application/dicom"));
        Assert.That(Decoded(dicom), Is.EqualTo(Xray), "the DICOM, byte for byte");
        Assert.That(leaves.OfType<TextPart>().Select(t => t.Text), Has.Some.Contains(TnefText), "the text from the TNEF");
    }

    [Test]
    public async Task Pickup_HtmlWithCidBitewing_ImageTagBecomesAPlaceholderWithoutBytesOrName()
    {
        const string recipient = "dr.cid@lab.example";
        var image = DentalCorpus.PanoramicJpeg();
        var message = DentalCorpus.WithInlineImage(image, "bitewing-TEST^PATIENT.jpg", "image/jpeg");
        message.Subject = "Bitewing";
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(message, recipient);

        var htmls = delivery.Parsed.BodyParts.OfType<TextPart>().Where(t => t.IsHtml).Select(t => t.Text).ToList();
        var original = htmls.Single(h => h.Contains("See below.", StringComparison.Ordinal));
        Assert.That(original, Does.Not.Contain("cid:"), "no broken picture left");
        Assert.That(original, Does.Contain(InlineImagePlaceholder.Text), "the reader is told where the picture went");
        Assert.That(original, Does.Not.Contain("bitewing").And.Not.Contain("<img"));
        Assert.That(Encoding.ASCII.GetString(delivery.Notice.Data), Does.Not.Contain("bitewing-TEST"), "no file name anywhere in the mail");
        Assert.That(delivery.Parsed.BodyParts.OfType<MimePart>().Any(p => p.ContentType.MediaType == "image"), Is.False, "no image bytes in the mail");
        var stored = (await bed.Store.FindAsync(delivery.PackageId, CancellationToken.None))!;
        Assert.That((await bed.Store.FilesAsync(stored, CancellationToken.None)).Single().Size, Is.EqualTo(image.Length), "the picture is in the package");
    }
}
