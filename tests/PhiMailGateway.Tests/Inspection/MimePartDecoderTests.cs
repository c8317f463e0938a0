using System.Security.Cryptography;
using System.Text;
using MimeKit;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection;

public class MimePartDecoderTests
{
    private static readonly byte[] Image = RandomNumberGenerator.GetBytes(100_003);

    private static string Wrapped(byte[] data, int width = 76, string lineEnd = "\r\n")
    {
        var text = Convert.ToBase64String(data);
        var lines = Enumerable.Range(0, (text.Length + width - 1) / width).Select(i => text.Substring(i * width, Math.Min(width, text.Length - i * width)));
        return string.Join(lineEnd, lines) + lineEnd;
    }

    /// <summary>The last <see cref="DecodeBothAsync"/> saw the inspector's <see cref="MimePartDecoder.Open"/> refuse the content.</summary>
    private bool LastOpenRefused { get; set; }

    private async Task<(byte[] Ours, byte[] MimeKits)> DecodeBothAsync(string encodedBody)
    {
        LastOpenRefused = false;
        var raw = "Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n" + encodedBody;
        // Persistent parse from a file, as the pickup stage does: the content stays in the spool.
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, Encoding.ASCII.GetBytes(raw));
            await using var stream = File.OpenRead(path);
            var part = (MimePart)await MimeEntity.LoadAsync(stream, persistent: true);
            var ours = new MemoryStream();
            await MimePartDecoder.DecodeToAsync(part, ours, CancellationToken.None);
            if (part.Content is { } forOpen)
            {
                // The inspector's way in must read the very same bytes, or refuse content that is not clean base64.
                var opened = new MemoryStream();
                try
                {
                    await using (var decoded = MimePartDecoder.Open(part, forOpen)) await decoded.CopyToAsync(opened);
                    Assert.That(opened.ToArray(), Is.EqualTo(ours.ToArray()), "Open and DecodeToAsync agree");
                }
                catch (UndecodableContentException)
                {
                    LastOpenRefused = true;
                }
            }
            var theirs = new MemoryStream();
            if (part.Content is { } content) await content.DecodeToAsync(theirs);
            return (ours.ToArray(), theirs.ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task WrappedBase64_DecodesToTheImageBytes()
    {
        var (ours, mimeKits) = await DecodeBothAsync(Wrapped(Image));
        Assert.That(ours, Is.EqualTo(Image));
        Assert.That(mimeKits, Is.EqualTo(Image));
    }

    [TestCase("\n")]
    [TestCase(" \r\n\t")]
    public async Task OtherLineBreaksAndBlanks_DecodeAlike(string lineEnd)
    {
        var (ours, _) = await DecodeBothAsync(Wrapped(Image, 64, lineEnd));
        Assert.That(ours, Is.EqualTo(Image));
    }

    [TestCase("QUJD!REVG\r\n")]           // a stray character
    [TestCase("QUJDREU\r\n")]             // padding missing
    [TestCase("QUI=QUI=\r\n")]            // data after the padding
    [TestCase("")]                        // empty
    public async Task AnythingButPlainBase64_DecodesExactlyAsMimeKitDoes(string body)
    {
        var (ours, mimeKits) = await DecodeBothAsync(body);
        Assert.That(ours, Is.EqualTo(mimeKits));
    }

    [TestCase("QUJD!REVG\r\n", "a character outside the base64 alphabet")]
    [TestCase("QUI=QUI=\r\n", "padding in the middle")]
    [TestCase("QUJDR\r\n", "truncated")]
    public async Task Open_Base64ThatDoesNotDecodeCleanly_RefusesWithTheDefect(string body, string defect)
    {
        var raw = "Content-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body;
        var part = (MimePart)await MimeEntity.LoadAsync(new MemoryStream(Encoding.ASCII.GetBytes(raw)));
        var e = Assert.Throws<UndecodableContentException>(() => MimePartDecoder.Open(part, part.Content!).Dispose());
        Assert.That(e!.Message, Does.Contain(defect), "inspection reports why the part is Unknown");
    }

    [Test]
    public async Task Open_LargeBase64WithPaddingInTheMiddle_RefusesWhileStreaming()
    {
        var body = Wrapped(Encoding.ASCII.GetBytes("Dear colleague\r\n")) + Wrapped(RandomNumberGenerator.GetBytes(MimePartDecoder.FastLimit));
        var path = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(path, Encoding.ASCII.GetBytes("Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body));
            await using var stream = File.OpenRead(path);
            var part = (MimePart)await MimeEntity.LoadAsync(stream, persistent: true);
            var e = Assert.ThrowsAsync<UndecodableContentException>(async () =>
            {
                await using var decoded = MimePartDecoder.Open(part, part.Content!);
                await decoded.CopyToAsync(Stream.Null);
            });
            Assert.That(e!.Message, Does.Contain("padding in the middle"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(" ")]
    [TestCase("\t")]
    [TestCase("\n")]
    public async Task ABlankInPlaceOfACharacter_InsideRegularLines_DecodesExactlyAsMimeKitDoes(string blank)
    {
        var wrapped = Wrapped(Image);
        var at = 78 * 40 + 30; // inside line 41: every line keeps its 76 characters
        var (ours, mimeKits) = await DecodeBothAsync(wrapped[..at] + blank + wrapped[(at + 1)..]);
        Assert.That(ours, Is.EqualTo(mimeKits));
        // A character is missing, so the final padding no longer ends a group: damage, which inspection refuses.
        Assert.That(LastOpenRefused, Is.True, "the inspector does not trust base64 with a character missing");
    }

    [Test]
    public void RemoveWhitespace_KeepsEveryOtherByteInOrder()
    {
        var text = "  ab\r\ncd \t\r\nef\r\ngh\r\nij\r\n\r\nkl"u8.ToArray();
        var length = MimePartDecoder.RemoveWhitespace(text);
        Assert.That(Encoding.ASCII.GetString(text, 0, length), Is.EqualTo("abcdefghijkl"));
    }
}
