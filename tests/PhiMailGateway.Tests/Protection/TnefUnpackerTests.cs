using MimeKit;
using PhiMailGateway.Protection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Protection;

public class TnefUnpackerTests
{
    private static MimeMessage WithWinmail(byte[] tnef, string? outerText)
    {
        var message = DentalCorpus.Message(text: outerText ?? "x");
        var winmail = new MimePart("application", "ms-tnef") { FileName = "winmail.dat", Content = new MimeContent(new MemoryStream(tnef)) };
        message.Body = outerText is null ? new Multipart("mixed") { winmail } : new Multipart("mixed") { new TextPart("plain") { Text = outerText }, winmail };
        return message;
    }

    [Test]
    public void TnefUnpacker_WinmailWithTwoFiles_ReplacedInPlaceByTheFilesWithTypesFromTheirBytes()
    {
        var message = WithWinmail(DentalCorpus.Tnef("tnef text", ("left.dcm", DentalCorpus.Dicom()), ("photo.jpg", DentalCorpus.IntraoralPhotoJpeg())), "The outer text.");
        Assert.That(TnefUnpacker.UnpackAll(message), Is.True);
        var parts = ((Multipart)message.Body!).ToList();
        Assert.That(parts.Select(p => p.ContentType.MimeType), Is.EqualTo(new[] { "text/plain", "application/dicom", "image/jpeg" }));
        Assert.That(parts.Skip(1).Select(p => ((MimePart)p).FileName), Is.EqualTo(new[] { "left.dcm", "photo.jpg" }));
        Assert.That(message.TextBody, Is.EqualTo("The outer text."), "the mail has its own text: the TNEF's is not added a second time");
    }

    [Test]
    public void TnefUnpacker_DamagedTnef_StaysAsItIs()
    {
        var damaged = DentalCorpus.Tnef(("left.dcm", DentalCorpus.Dicom()))[..40];
        var message = WithWinmail(damaged, "Text.");
        Assert.That(TnefUnpacker.UnpackAll(message), Is.False, "nothing readable: nothing changes, nothing is lost");
        Assert.That(((Multipart)message.Body!).OfType<MimePart>().Single(p => p.FileName == "winmail.dat").ContentType.MimeType, Is.EqualTo("application/ms-tnef"));
    }
}
