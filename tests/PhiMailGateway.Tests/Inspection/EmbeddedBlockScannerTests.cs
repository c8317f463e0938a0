using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.Inspection.FailClosed;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class EmbeddedBlockScannerTests
{
    private static readonly byte[] Pano = DentalCorpus.PanoramicJpeg();

    /// <summary>Feeds the text in chunks of <paramref name="chunk"/> bytes, as the part streams past.</summary>
    private static EmbeddedBlockScanner Scan(byte[] text, int chunk = 7, int allowance = 100, long maxItemBytes = 32 << 20)
    {
        var scanner = new EmbeddedBlockScanner(allowance, maxItemBytes);
        for (var i = 0; i < text.Length; i += chunk) scanner.Feed(text.AsSpan(i, Math.Min(chunk, text.Length - i)));
        scanner.Complete();
        return scanner;
    }

    private static EmbeddedBlockScanner Scan(string text, int chunk = 7) => Scan(Encoding.Latin1.GetBytes(text), chunk);

    private static string Folded(byte[] data, int width = 76, string indent = "")
    {
        var text = Convert.ToBase64String(data);
        return string.Join("\r\n" + indent, Enumerable.Range(0, (text.Length + width - 1) / width).Select(i => text.Substring(i * width, Math.Min(width, text.Length - i * width))));
    }

    [TestCase(1)]
    [TestCase(7)]
    [TestCase(65536)]
    public void EmbeddedBlockScanner_FoldedDataUriInAnImgTag_DecodesTheImageWhateverTheChunks(int chunk)
    {
        var scanner = Scan(Encoding.ASCII.GetBytes($"<p>x</p><img src=\"data:image/jpeg;base64,{Folded(Pano, 76, "  ")}\" alt=\"\">"), chunk);
        Assert.That(scanner.Blocks, Has.Count.EqualTo(1));
        Assert.That(scanner.Blocks[0].FailClosedReason, Is.Null);
        Assert.That(scanner.Blocks[0].DeclaredType, Is.EqualTo("image/jpeg"));
        Assert.That(scanner.Blocks[0].Content, Is.EqualTo(Pano), "the decoded bytes are the image");
    }

    [Test]
    public void EmbeddedBlockScanner_CssUrlWithoutMediaType_Decodes()
    {
        var scanner = Scan($"<div style='background:url(data:;base64,{Convert.ToBase64String(Pano)})'></div>");
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
        Assert.That(scanner.Blocks.Single().DeclaredType, Is.Null);
    }

    [Test]
    public void EmbeddedBlockScanner_PercentEncodedPayload_Decodes()
    {
        var payload = string.Concat(Pano.Take(3000).Select(b => $"%{b:X2}"));
        var scanner = Scan($"<img src=\"data:image/jpeg,{payload}\">");
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano.Take(3000).ToArray()));
    }

    [Test]
    public void EmbeddedBlockScanner_PercentEncodedBase64Alphabet_Decodes()
    {
        var payload = Convert.ToBase64String(Pano).Replace("+", "%2B").Replace("/", "%2f").Replace("=", "%3D");
        var scanner = Scan($"<img src='data:image/jpeg;base64,{payload}'>");
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
    }

    [TestCase("data&#58;")]
    [TestCase("data&#x3A;")]
    [TestCase("DATA&colon;")]
    [TestCase("data&#0058;")]
    public void EmbeddedBlockScanner_ColonAsACharacterReference_StillADataUri(string scheme)
    {
        var scanner = Scan($"<img src=\"{scheme}image/jpeg;base64,{Convert.ToBase64String(Pano)}\">");
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano), "browsers decode the reference before they read the URI");
    }

    [TestCase("Patient data: see below, thanks")]
    [TestCase("data&amp; more")]
    [TestCase("metadata:image/png;base64,AAAA")]
    [TestCase("no data here at all")]
    public void EmbeddedBlockScanner_WordsThatAreNotDataUris_FindNothing(string text)
    {
        Assert.That(Scan(text).Blocks, Is.Empty);
    }

    [TestCase("data:image/jpeg;base64,/9j/4AAQ!SkZJRg==\"", "a character outside the base64 alphabet")]
    [TestCase("data:image/jpeg;base64,/9j/4A==AQSkZJ\"", "padding in the middle")]
    [TestCase("data:image/jpeg;base64,/9j/4\"", "truncated")]
    [TestCase("data:image/jpeg,%FF%D8%G1\"", "broken percent escape")]
    public void EmbeddedBlockScanner_DataUriThatDoesNotDecode_FailsWithAReason(string text, string reason)
    {
        var block = Scan($"<img src=\"{text}>").Blocks.Single();
        Assert.That(block.FailClosedReason, Does.Contain(reason));
    }

    [Test]
    public void EmbeddedBlockScanner_DataUriEndsAtABlankLine_TextAfterItIsNotPayload()
    {
        var scanner = Scan($"data:application/dicom;base64,{Folded(Pano)}\r\n\r\nThanks, Dr Lab");
        Assert.That(scanner.Blocks.Single().FailClosedReason, Is.Null);
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeBlock_Decodes()
    {
        var scanner = Scan($"Hi\r\n\r\nbegin 644 pano.jpg\r\n{FailClosedCorpus.Uuencode(Pano)}`\r\nend\r\nBye\r\n");
        Assert.That(scanner.Blocks.Single().Kind, Is.EqualTo("uuencode block"));
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeWithoutEnd_Fails()
    {
        var block = Scan($"begin 644 pano.jpg\r\n{FailClosedCorpus.Uuencode(Pano)}").Blocks.Single();
        Assert.That(block.FailClosedReason, Does.Contain("no end line"));
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeLineDamaged_Fails()
    {
        var lines = FailClosedCorpus.Uuencode(Pano).Split("\r\n");
        lines[3] = lines[3][..30]; // cut in half: the count says 45 bytes
        var block = Scan($"begin 644 pano.jpg\r\n{string.Join("\r\n", lines)}`\r\nend\r\n").Blocks.Single();
        Assert.That(block.FailClosedReason, Does.Contain("does not match its count"));
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64Block_Decodes()
    {
        var scanner = Scan($"begin-base64 644 pano.jpg\r\n{Folded(Pano)}\r\n====\r\n");
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
    }

    [Test]
    public void EmbeddedBlockScanner_YencBlock_Decodes()
    {
        var text = (byte[])[.. "Hi\r\n"u8, .. FailClosedCorpus.Yenc(Pano, "pano.jpg"), .. "Bye\r\n"u8];
        var scanner = Scan(text, 13);
        Assert.That(scanner.Blocks.Single().FailClosedReason, Is.Null);
        Assert.That(scanner.Blocks.Single().Content, Is.EqualTo(Pano));
    }

    [Test]
    public void EmbeddedBlockScanner_YencSizeMismatchOrNoEnd_Fails()
    {
        var block = FailClosedCorpus.Yenc(Pano, "pano.jpg");
        var cut = block.AsSpan(0, block.Length / 2).ToArray();
        Assert.That(Scan(cut).Blocks.Single().FailClosedReason, Does.Contain("no =yend line"));
        var text = Encoding.Latin1.GetString(block).Replace($"=yend size={Pano.Length}", "=yend size=12");
        Assert.That(Scan(Encoding.Latin1.GetBytes(text)).Blocks.Single().FailClosedReason, Does.Contain("size does not match"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencPart_IsAFragment()
    {
        var block = Encoding.Latin1.GetString(FailClosedCorpus.Yenc(Pano, "pano.jpg"));
        var firstLineEnd = block.IndexOf("\r\n", StringComparison.Ordinal) + 2;
        var text = block[..firstLineEnd] + "=ypart begin=1 end=" + Pano.Length + "\r\n" + block[firstLineEnd..];
        Assert.That(Scan(Encoding.Latin1.GetBytes(text)).Blocks.Single().FailClosedReason, Does.Contain("fragment"));
    }

    [Test]
    public void EmbeddedBlockScanner_MoreItemsThanAllowed_DecodesOnlyTheAllowanceAndSaysSo()
    {
        var text = string.Concat(Enumerable.Range(0, 5).Select(_ => "<img src=\"data:image/png;base64,iVBORw0KGgo=\">"));
        var scanner = new EmbeddedBlockScanner(3, 1 << 20);
        scanner.Feed(Encoding.ASCII.GetBytes(text));
        scanner.Complete();
        Assert.That(scanner.Blocks, Has.Count.EqualTo(3));
        Assert.That(scanner.TooMany, Is.True);
    }

    [Test]
    public void EmbeddedBlockScanner_ItemLargerThanTheBound_FailsWithoutKeepingIt()
    {
        var scanner = Scan(Encoding.ASCII.GetBytes($"data:image/jpeg;base64,{Convert.ToBase64String(Pano)}\""), 4096, maxItemBytes: 4096);
        var block = scanner.Blocks.Single();
        Assert.That(block.FailClosedReason, Does.Contain("Inspection:MaxEmbeddedItemBytes"));
        Assert.That(block.Content, Is.Empty);
    }
}
