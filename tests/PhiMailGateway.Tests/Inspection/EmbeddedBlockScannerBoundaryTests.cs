using System.Text;
using System.Text.RegularExpressions;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.Inspection.FailClosed;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// One boundary of the scanner per case (issue 24): where a data: URI starts and ends, which bytes
/// belong to its header and payload, the line bounds of the line-based blocks and the strict base64.
/// Small arbitrary payloads stand in for images: the scanner only has to hand back their exact bytes.
/// </summary>
public class EmbeddedBlockScannerBoundaryTests
{
    private static readonly byte[] Bytes = Data(301);

    private static byte[] Data(int length, int seed = 11) => Enumerable.Range(0, length).Select(i => (byte)(i * 37 + seed)).ToArray();

    private static EmbeddedBlockScanner Scan(byte[] text, int chunk = 7, int allowance = 100, long maxItemBytes = 32 << 20)
    {
        var scanner = new EmbeddedBlockScanner(allowance, maxItemBytes);
        for (var i = 0; i < text.Length; i += chunk) scanner.Feed(text.AsSpan(i, Math.Min(chunk, text.Length - i)));
        scanner.Complete();
        return scanner;
    }

    private static EmbeddedBlockScanner Scan(string text, int chunk = 7, int allowance = 100, long maxItemBytes = 32 << 20) =>
        Scan(Encoding.Latin1.GetBytes(text), chunk, allowance, maxItemBytes);

    private static EmbeddedBlockScanner.Block Single(string text, int chunk = 7)
    {
        var blocks = Scan(text, chunk).Blocks;
        Assert.That(blocks, Has.Count.EqualTo(1), text.Length > 200 ? text[..200] : text);
        return blocks[0];
    }

    private static void AssertDecoded(EmbeddedBlockScanner.Block block, byte[] expected)
    {
        Assert.That(block.FailClosedReason, Is.Null);
        Assert.That(block.Content, Is.EqualTo(expected));
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data);

    /// <summary>
    /// Test case text with its control and non-ASCII bytes written as &lt;CR&gt;, &lt;LF&gt;, &lt;TAB&gt; or &lt;XX&gt; (hex):
    /// raw, they made Stryker's test runner lose track of the cases and stop its initial run.
    /// </summary>
    private static string T(string text) => Regex.Replace(text.Replace("<CR>", "\r").Replace("<LF>", "\n").Replace("<TAB>", "\t"),
        "<([0-9A-F]{2})>", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());

    private static string Percent(byte[] data) => string.Concat(data.Select(b => $"%{b:X2}"));

    private static string Lines(string text, int width) =>
        string.Join("\r\n", Enumerable.Range(0, (text.Length + width - 1) / width).Select(i => text.Substring(i * width, Math.Min(width, text.Length - i * width))));

    /// <summary>uuencode with <paramref name="perLine"/> bytes a line ('`' for zero, as most encoders write).</summary>
    private static string Uu(byte[] data, int perLine = 45, char zero = '`') => FailClosedCorpus.Uuencode(data, perLine, zero);

    private static string UuBlock(string lines) => $"begin 644 x.jpg\r\n{lines}`\r\nend\r\n";

    // ---- the end of the text ----

    [Test]
    public void EmbeddedBlockScanner_UuencodeEndOnTheLastLineWithoutANewline_Decodes()
    {
        AssertDecoded(Single($"begin 644 x.jpg\r\n{Uu(Bytes)}`\r\nend"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64EndOnTheLastLineWithoutANewline_Decodes()
    {
        AssertDecoded(Single($"begin-base64 644 x.jpg\r\n{Lines(B64(Bytes), 76)}\r\n===="), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_YencEndOnTheLastLineWithoutANewline_Decodes()
    {
        var text = Encoding.Latin1.GetString(FailClosedCorpus.Yenc(Bytes, "x.jpg")).TrimEnd('\r', '\n');
        AssertDecoded(Single(text), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_Base64DataUriRunningToTheEndOfTheText_IsKept()
    {
        var block = Single($"see data:image/png;base64,{B64(Bytes)}");
        AssertDecoded(block, Bytes);
        Assert.That(block.Kind, Is.EqualTo("data: URI (base64)"));
    }

    [Test]
    public void EmbeddedBlockScanner_PercentDataUriRunningToTheEndOfTheText_IsKept()
    {
        var block = Single($"see data:image/png,{Percent(Bytes)}");
        AssertDecoded(block, Bytes);
        Assert.That(block.Kind, Is.EqualTo("data: URI"));
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64WithoutItsEndLine_Fails()
    {
        var block = Single($"begin-base64 644 x.jpg\r\n{Lines(B64(Bytes), 76)}\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("begin-base64 block has no ==== line"));
        Assert.That(block.Kind, Is.EqualTo("begin-base64 block"));
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeWithoutItsEndLine_FailsWithThatReason()
    {
        var block = Single($"begin 644 x.jpg\r\n{Uu(Bytes)}");
        Assert.That(block.FailClosedReason, Is.EqualTo("uuencode block has no end line"));
        Assert.That(block.Kind, Is.EqualTo("uuencode block"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencWithoutItsEndLine_FailsWithThatReason()
    {
        var text = Encoding.Latin1.GetString(FailClosedCorpus.Yenc(Bytes, "x.jpg"));
        var block = Single(text[..text.IndexOf("=yend", StringComparison.Ordinal)]);
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc block has no =yend line"));
        Assert.That(block.Kind, Is.EqualTo("yEnc block"));
    }

    // ---- line bounds of the line-based blocks ----

    [TestCase(1)]
    [TestCase(4096)]
    public void EmbeddedBlockScanner_BeginBase64LineOfExactlyTheLineBound_Decodes(int chunk)
    {
        var data = Data(3072); // 4096 base64 characters on one line, ended by a bare LF
        var block = Scan($"begin-base64 644 x\n{B64(data)}\n====\n", chunk).Blocks.Single();
        AssertDecoded(block, data);
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64LineOneByteOverTheLineBound_FailsAsTooLong()
    {
        var data = Data(3072);
        var block = Scan($"begin-base64 644 x\n{B64(data)} \n====\n").Blocks.Single();
        Assert.That(block.FailClosedReason, Is.EqualTo("begin-base64 line too long"));
        Assert.That(block.Content, Is.Empty, "no part of the line is decoded");
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeLineOverTheLineBound_FailsAsTooLong()
    {
        var block = Scan($"begin 644 x\r\n{new string('!', 5000)}\r\n`\r\nend\r\n", 4096).Blocks.Single();
        Assert.That(block.FailClosedReason, Is.EqualTo("uuencode line too long"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencLineOverTheLineBound_FailsAsTooLong()
    {
        var block = Scan($"=ybegin line=128 size=5000 name=x\r\n{new string('k', 5000)}\r\n=yend size=5000\r\n", 4096).Blocks.Single();
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc line too long"));
        Assert.That(block.Content, Is.Empty, "no part of the line is decoded");
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeLinesOf63Bytes_Decode()
    {
        // Count character '_' (63): 85 characters a line, past the 64 kept of a line of prose.
        var data = Data(630);
        AssertDecoded(Single(UuBlock(Uu(data, 63))), data);
    }

    [Test]
    public void EmbeddedBlockScanner_BeginLineWithALongNameInOneChunk_StillStartsTheBlock()
    {
        var text = $"begin-base64 644 {new string('n', 300)}.jpg\r\n{Lines(B64(Bytes), 76)}\r\n====\r\n";
        AssertDecoded(Scan(text, 65536).Blocks.Single(), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_LongLineOfProseBeforeABlock_DoesNotHideIt()
    {
        var text = $"{new string('p', 500)}\r\nbegin 644 x.jpg\r\n{Uu(Bytes)}`\r\nend\r\n";
        AssertDecoded(Scan(text, 65536).Blocks.Single(), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_YencHeaderWithItsSizePastTheKeptPrefix_FailsClosed()
    {
        // Only the first 64 bytes of a line outside a block are kept: a size beyond them is not guessed at.
        var name = new string('n', 60);
        var block = Single($"=ybegin line=128 name={name} size=3\r\nklm\r\n=yend size=3\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc header has no size"));
    }

    // ---- where "data:" starts ----

    [TestCase("x", 1)]
    [TestCase("x", 64)]
    [TestCase("a", 1)]
    [TestCase("z", 64)]
    [TestCase("A", 1)]
    [TestCase("Z", 64)]
    [TestCase("0", 1)]
    [TestCase("9", 64)]
    [TestCase("-", 1)]
    [TestCase("_", 64)]
    [TestCase("d", 1)]
    [TestCase("dat", 64)]
    public void EmbeddedBlockScanner_DataAfterAWordCharacter_IsNotAUri(string before, int chunk)
    {
        Assert.That(Scan($"<p>{before}data:image/png;base64,{B64(Bytes)}</p>", chunk).Blocks, Is.Empty);
    }

    [TestCase("`", 1)]
    [TestCase("`", 64)]
    [TestCase("{", 1)]
    [TestCase("@", 64)]
    [TestCase("[", 1)]
    [TestCase("/", 64)]
    [TestCase(":", 1)]
    [TestCase("dat ", 64)]
    [TestCase("<E9>", 1)]
    public void EmbeddedBlockScanner_DataAfterAByteThatIsNotAWordCharacter_IsAUri(string before, int chunk)
    {
        before = T(before);
        AssertDecoded(Scan($"<p>{before}data:image/png;base64,{B64(Bytes)}</p>", chunk).Blocks.Single(), Bytes);
    }

    [TestCase("DaTa:")]
    [TestCase("data&#0000000058;")]
    [TestCase("data&#x000003a;")]
    [TestCase("data&#X3A;")]
    [TestCase("data&COLON;")]
    [TestCase("data&#58")]
    [TestCase("data&#x3a")]
    [TestCase("data&#58<CR><LF>")]
    [TestCase("da<CR><LF>ta:")]
    [TestCase("data<LF>:")]
    [TestCase("dat<TAB>a:")]
    [TestCase("d<CR>a<LF>t<TAB>a:")]
    public void EmbeddedBlockScanner_SchemeAsABrowserReadsIt_IsADataUri(string scheme)
    {
        scheme = T(scheme);
        // A numeric reference needs no semicolon; a browser drops tabs and line breaks from a URL.
        var block = Single($"<img src=\"{scheme}image/png;base64,{B64(Bytes)}\">");
        AssertDecoded(block, Bytes);
        Assert.That(block.DeclaredType, Is.EqualTo("image/png"));
    }

    [TestCase("data&amp;")]
    [TestCase("data&colon")]
    [TestCase("data&colon1;")]
    [TestCase("data&;#58;")]
    [TestCase("data&58;")]
    [TestCase("data&#;")]
    [TestCase("data&#x;")]
    [TestCase("data&#5;")]
    [TestCase("data&#59;")]
    [TestCase("data&#580;")]
    [TestCase("data&#508;")]
    [TestCase("data&#x3b;")]
    [TestCase("data&#x3a0;")]
    [TestCase("data&#x03a0;")]
    [TestCase("data&#xx3a;")]
    [TestCase("data&#5x8;")]
    [TestCase("data&#0;")]
    [TestCase("data&<CR><LF>#58;")]
    [TestCase("data&#5<18>;")]
    public void EmbeddedBlockScanner_ReferenceThatIsNotAColon_IsNotADataUri(string scheme)
    {
        scheme = T(scheme);
        Assert.That(Scan($"<img src=\"{scheme}image/png;base64,{B64(Bytes)}\">").Blocks, Is.Empty);
    }

    [TestCase("data& ")]
    [TestCase("data&amp ")]
    [TestCase("data&#5 ")]
    [TestCase("data&#x ")]
    [TestCase("data&#")]
    public void EmbeddedBlockScanner_ReferenceCutShort_DoesNotSwallowTheUriAfterIt(string before)
    {
        AssertDecoded(Single($"{before}data:image/png;base64,{B64(Bytes)}\r\n"), Bytes);
    }

    [TestCase("Patient data<CR><LF>")]
    [TestCase("Patient dat<LF>")]
    public void EmbeddedBlockScanner_DataAtTheEndOfALine_DoesNotHideABlockOnTheNext(string before)
    {
        before = T(before);
        AssertDecoded(Single($"{before}begin 644 x.jpg\r\n{Uu(Bytes)}`\r\nend\r\n"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_ColonReferenceAfterAnotherReference_IsStillADataUri()
    {
        AssertDecoded(Single($"data&amp; more <img src=\"data&#58;image/png;base64,{B64(Bytes)}\">"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_NumericReferenceEndsAtItsFirstNonDigit_EvenAHexLetter()
    {
        var block = Single($"<img src=\"data&#58abc/png;base64,{B64(Bytes)}\">");
        AssertDecoded(block, Bytes);
        Assert.That(block.DeclaredType, Is.EqualTo("abc/png"));
    }

    [Test]
    public void EmbeddedBlockScanner_PartialMatchAcrossALineBreak_DoesNotHideDataOnTheNextLine()
    {
        AssertDecoded(Single($"see da\r\ndata:image/png;base64,{B64(Bytes)}\r\n"), Bytes);
    }

    // ---- the header: media type up to the comma ----

    [TestCase("data: image/png;base64,")]
    [TestCase("data:image/png ; base64,")]
    [TestCase("data:image/png;<TAB>base64,")]
    [TestCase("data:image/png;<CR><LF> base64,")]
    [TestCase("data:image/png;base64<LF>,")]
    [TestCase("data:IMAGE/PNG;BASE64,")]
    [TestCase("data:image/png;name=x.png;base64,")]
    [TestCase("data:image%2Fpng;base64,")]
    [TestCase("data:image/png~;base64,")]
    public void EmbeddedBlockScanner_HeaderAsABrowserReadsIt_GivesTypeAndBase64(string header)
    {
        header = T(header);
        var block = Single($"<img src=\"{header}{B64(Bytes)}\">");
        AssertDecoded(block, Bytes);
        Assert.That(block.DeclaredType, Is.EqualTo(header.Contains('~') ? "image/png~" : "image/png"));
        Assert.That(block.Kind, Is.EqualTo("data: URI (base64)"));
    }

    [Test]
    public void EmbeddedBlockScanner_Base64NotLastInTheHeader_IsAPercentUri()
    {
        var payload = B64(Bytes);
        var block = Single($"<img src=\"data:image/png;base64;x=y,{payload}\">");
        AssertDecoded(block, Encoding.ASCII.GetBytes(payload));
        Assert.That(block.Kind, Is.EqualTo("data: URI"));
    }

    [TestCase((int)'"')]
    [TestCase((int)'\'')]
    [TestCase((int)'<')]
    [TestCase((int)'>')]
    [TestCase((int)'(')]
    [TestCase((int)')')]
    [TestCase(0x01)]
    [TestCase(0x1F)]
    [TestCase(0x7F)]
    [TestCase(0xE9)]
    public void EmbeddedBlockScanner_HeaderWithAByteNoMediaTypeHas_IsNotADataUri(int code)
    {
        var c = (char)code;
        Assert.That(Scan($"data:image{c}png;base64,{B64(Bytes)}\r\n").Blocks, Is.Empty);
    }

    [TestCase(256, true)]
    [TestCase(257, false)]
    public void EmbeddedBlockScanner_HeaderLength_IsBounded(int length, bool found)
    {
        var header = "image/" + new string('x', length - 6 - 7) + ";base64";
        var blocks = Scan($"data:{header},{B64(Bytes)}\r\n").Blocks;
        Assert.That(blocks, Has.Count.EqualTo(found ? 1 : 0));
    }

    [Test]
    public void EmbeddedBlockScanner_TwoUrisWithDifferentHeaders_EachKeepsItsOwn()
    {
        var blocks = Scan($"<img src=\"data:text/plain,AB\"><img src=\"data:image/png;base64,{B64(Bytes)}\">").Blocks;
        Assert.That(blocks.Select(b => b.DeclaredType), Is.EqualTo(new[] { "text/plain", "image/png" }));
        AssertDecoded(blocks[1], Bytes);
    }

    // ---- the base64 payload ----

    [TestCase('"')]
    [TestCase('\'')]
    [TestCase(')')]
    [TestCase('<')]
    [TestCase('>')]
    [TestCase('\\')]
    public void EmbeddedBlockScanner_Base64PayloadClosedByAQuoteOrBracket_Decodes(char close)
    {
        AssertDecoded(Single($"x data:;base64,{B64(Bytes)}{close} y"), Bytes);
    }

    [TestCase((int)'!')]
    [TestCase((int)'&')]
    [TestCase((int)',')]
    [TestCase((int)'.')]
    [TestCase((int)':')]
    [TestCase((int)'@')]
    [TestCase((int)'[')]
    [TestCase((int)'`')]
    [TestCase((int)'{')]
    [TestCase((int)'*')]
    [TestCase((int)'-')]
    [TestCase(0x01)]
    public void EmbeddedBlockScanner_Base64PayloadWithAByteOutsideTheAlphabet_Fails(int code)
    {
        var damage = (char)code;
        var payload = B64(Bytes);
        var block = Single($"x data:;base64,{payload[..40]}{damage}{payload[40..]}\" y");
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI does not decode as base64 (a character outside the base64 alphabet)"));
    }

    [TestCase(" ")]
    [TestCase("<TAB>")]
    [TestCase("<CR>")]
    [TestCase("<CR><LF>")]
    [TestCase("<LF><TAB>")]
    public void EmbeddedBlockScanner_Base64PayloadWithWhitespaceInside_Decodes(string space)
    {
        space = T(space);
        var payload = B64(Bytes);
        AssertDecoded(Single($"<img src=\"data:;base64,{payload[..40]}{space}{payload[40..80]}{space}{payload[80..]}\">"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_Base64PayloadFoldedWithALineStartingWithAnEscape_Decodes()
    {
        var payload = B64(Bytes);
        // The escape alone on its line: nothing but it stands between the two line breaks.
        AssertDecoded(Single($"<img src=\"data:;base64,{payload[..40]}\n%{(int)payload[40]:X2}\n{payload[41..]}\">"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_SecondUriAfterOneEndedByABlankLine_IsFoldedToo()
    {
        var payload = Lines(B64(Bytes), 40);
        var blocks = Scan($"data:;base64,{payload}\r\n\r\nand data:;base64,{payload}\r\n\r\nBye").Blocks;
        Assert.That(blocks, Has.Count.EqualTo(2));
        AssertDecoded(blocks[0], Bytes);
        AssertDecoded(blocks[1], Bytes);
    }

    [TestCase("%")]
    [TestCase("%4")]
    public void EmbeddedBlockScanner_Base64PayloadEndingInsideAnEscape_Fails(string tail)
    {
        var block = Single($"data:;base64,{B64(Bytes)}{tail}");
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI ends inside a percent escape"));
    }

    [TestCase("%4G")]
    [TestCase("%G4")]
    public void EmbeddedBlockScanner_Base64PayloadWithABrokenEscape_Fails(string escape)
    {
        var block = Single($"data:;base64,QUFB{escape}QUFB\"");
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI has a broken percent escape"));
    }

    [TestCase("QUE", "4141")]
    [TestCase("QUFBQQ", "41414141")]
    [TestCase("QUF=", "4141")]
    [TestCase("QU==", "41")]
    [TestCase("QU=", "41")]
    [TestCase("AZaz09+/", "0196B3D3DFBF")]
    [TestCase("%2B%2f", "FB")]
    public void EmbeddedBlockScanner_Base64PayloadTail_DecodesExactly(string payload, string expectedHex)
    {
        AssertDecoded(Single($"<img src=\"data:;base64,{payload}\">"), Convert.FromHexString(expectedHex));
    }

    [TestCase("Q=", "padding where no group can end")]
    [TestCase("=", "padding where no group can end")]
    [TestCase("QU===", "too much padding")]
    [TestCase("QUF==", "too much padding")]
    [TestCase("QU=Q", "padding in the middle")]
    [TestCase("QUFBQ", "truncated")]
    public void EmbeddedBlockScanner_Base64PayloadBadlyPadded_Fails(string payload, string defect)
    {
        var block = Single($"<img src=\"data:;base64,{payload}\">");
        Assert.That(block.FailClosedReason, Is.EqualTo($"data: URI does not decode as base64 ({defect})"));
    }

    [Test]
    public void EmbeddedBlockScanner_EmptyPayload_IsNoItem()
    {
        Assert.That(Scan("<img src=\"data:image/png;base64,\"><img src=\"data:image/png,\">").Blocks, Is.Empty);
    }

    [Test]
    public void EmbeddedBlockScanner_PayloadThatFailsAtOnce_IsAFailedItemWithNothingDecoded()
    {
        var block = Single("<img src=\"data:image/png;base64,!\">");
        Assert.That(block.FailClosedReason, Does.Contain("outside the base64 alphabet"));
        Assert.That(block.Content, Is.Empty);
    }

    [TestCase("Q")]
    [TestCase("QUE")]
    [TestCase("QU==")]
    [TestCase("Q=")]
    [TestCase("QUFB%4")]
    public void EmbeddedBlockScanner_UriAfterOneThatEndedMidGroup_StartsAFreshGroup(string first)
    {
        var blocks = Scan($"<img src=\"data:;base64,{first}\"><img src=\"data:;base64,{B64(Bytes)}\">").Blocks;
        Assert.That(blocks, Has.Count.EqualTo(2));
        AssertDecoded(blocks[1], Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_BlockAfterAUriEndedByABlankLine_IsFoundToo()
    {
        var blocks = Scan($"data:;base64,{B64(Bytes)}\r\n\r\nbegin 644 x.jpg\r\n{Uu(Bytes)}`\r\nend\r\n").Blocks;
        Assert.That(blocks.Select(b => b.Kind), Is.EqualTo(new[] { "data: URI (base64)", "uuencode block" }));
        AssertDecoded(blocks[0], Bytes);
        AssertDecoded(blocks[1], Bytes);
    }

    // The first defect is the reason given; later ones in the same item do not replace it.
    [TestCase("data:;base64,Q=%G0\"", "data: URI does not decode as base64 (padding where no group can end)")]
    [TestCase("data:;base64,Q=!\"", "data: URI does not decode as base64 (padding where no group can end)")]
    [TestCase("data:;base64,Q=QU=A\"", "data: URI does not decode as base64 (padding where no group can end)")]
    [TestCase("data:;base64,Q=%", "data: URI does not decode as base64 (padding where no group can end)")]
    [TestCase("begin 644 x<CR><LF>M!!a<CR><LF>!<CR><LF>end<CR><LF>", "uuencode line has characters outside its alphabet")]
    [TestCase("begin 644 x<CR><LF>!<CR><LF>M!!a<CR><LF>end<CR><LF>", "uuencode line length does not match its count")]
    [TestCase("begin 644 x<CR><LF>Ma<CR><LF>{LongLine}<CR><LF>end<CR><LF>", "uuencode line has characters outside its alphabet")]
    [TestCase("begin 644 x<CR><LF>Ma<CR><LF>", "uuencode line has characters outside its alphabet")]
    [TestCase("begin-base64 644 x<CR><LF>Q!<CR><LF>{LongLine}<CR><LF>====<CR><LF>", "begin-base64 block does not decode (a character outside the base64 alphabet)")]
    [TestCase("begin-base64 644 x<CR><LF>{LongLine}<CR><LF>Q!<CR><LF>====<CR><LF>", "begin-base64 line too long")]
    [TestCase("begin-base64 644 x<CR><LF>Q!<CR><LF>====<CR><LF>", "begin-base64 block does not decode (a character outside the base64 alphabet)")]
    [TestCase("begin-base64 644 x<CR><LF>Q!<CR><LF>", "begin-base64 block does not decode (a character outside the base64 alphabet)")]
    [TestCase("=ybegin line=128 name=x<CR><LF>=ypart begin=1 end=3<CR><LF>klm<CR><LF>=yend size=3<CR><LF>", "yEnc header has no size")]
    [TestCase("=ybegin line=128 name=x<CR><LF>{LongLine}<CR><LF>=yend size=3<CR><LF>", "yEnc header has no size")]
    [TestCase("=ybegin line=128 name=x<CR><LF>kl=<CR><LF>=yend size=3<CR><LF>", "yEnc header has no size")]
    [TestCase("=ybegin line=128 name=x<CR><LF>klm<CR><LF>", "yEnc header has no size")]
    public void EmbeddedBlockScanner_ItemWithTwoDefects_GivesTheFirst(string text, string reason)
    {
        text = T(text);
        var block = Scan(text.Replace("{LongLine}", new string('Q', 5000)), 4096).Blocks.Single();
        Assert.That(block.FailClosedReason, Is.EqualTo(reason));
    }

    [Test]
    public void EmbeddedBlockScanner_ItemOverTheBoundAfterADefect_GivesTheDefect()
    {
        var block = Scan($"<img src=\"data:;base64,Q={B64(Bytes)}\">", maxItemBytes: 100).Blocks.Single();
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI does not decode as base64 (padding where no group can end)"));
    }

    // ---- the percent-encoded payload ----

    [TestCase((int)' ')]
    [TestCase((int)'"')]
    [TestCase((int)'\'')]
    [TestCase((int)')')]
    [TestCase((int)'<')]
    [TestCase((int)'>')]
    [TestCase(0x01)]
    public void EmbeddedBlockScanner_PercentPayloadEndsAtASpaceQuoteOrBracket(int code)
    {
        var close = (char)code;
        AssertDecoded(Single($"data:text/plain,AB%43{close}DEF"), "ABC"u8.ToArray());
    }

    [TestCase("AB(CD!~", "AB(CD!~")]
    [TestCase("AB<LF>CD", "ABCD")]
    [TestCase("AB<CR><LF>CD", "ABCD")]
    [TestCase("AB<TAB>CD", "ABCD")]
    [TestCase("AB<LF>C<LF>D", "ABCD")]
    [TestCase("AB<LF>%43<LF>D", "ABCD")]
    [TestCase("AB<LF><LF>CD", "AB")]
    [TestCase("AB<CR><LF><CR><LF>CD", "AB")]
    public void EmbeddedBlockScanner_PercentPayloadFoldedOrWithOtherBytes_Decodes(string payload, string expected)
    {
        payload = T(payload);
        AssertDecoded(Single($"data:text/plain,{payload}"), Encoding.ASCII.GetBytes(expected));
    }

    [Test]
    public void EmbeddedBlockScanner_PercentEscapes_DecodeEveryHexDigitRange()
    {
        AssertDecoded(Single("data:,%00%09%90%99%aa%af%fa%ff%AA%AF%FA%FF%0a%A0%a9%9F\""),
            [0x00, 0x09, 0x90, 0x99, 0xAA, 0xAF, 0xFA, 0xFF, 0xAA, 0xAF, 0xFA, 0xFF, 0x0A, 0xA0, 0xA9, 0x9F]);
    }

    [TestCase("%/0")]
    [TestCase("%:0")]
    [TestCase("%`0")]
    [TestCase("%g0")]
    [TestCase("%@0")]
    [TestCase("%G0")]
    [TestCase("%0g")]
    public void EmbeddedBlockScanner_PercentEscapeWithANonHexDigit_Fails(string escape)
    {
        var block = Single($"data:,AB{escape}CD\"");
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI has a broken percent escape"));
        Assert.That(block.Content, Is.EqualTo("AB"u8.ToArray()));
    }

    [TestCase("%")]
    [TestCase("%4")]
    public void EmbeddedBlockScanner_PercentPayloadEndingInsideAnEscape_Fails(string tail)
    {
        var block = Single($"data:,AB{tail}");
        Assert.That(block.FailClosedReason, Is.EqualTo("data: URI ends inside a percent escape"));
    }

    // ---- uuencode lines ----

    [Test]
    public void EmbeddedBlockScanner_UuencodeWithSpacesForZero_Decodes()
    {
        var data = new byte[90]; // all zero: every character is the zero character
        data[0] = 1;
        AssertDecoded(Single(UuBlock(Uu(data, zero: ' '))), data);
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeWithABlankLineInside_SkipsIt()
    {
        var lines = Uu(Bytes).Split("\r\n");
        AssertDecoded(Single(UuBlock($"{lines[0]}\r\n\r\n{string.Join("\r\n", lines[1..])}")), Bytes);
    }

    [TestCase(0x1F)]
    [TestCase((int)'a')]
    public void EmbeddedBlockScanner_UuencodeLineWithACharacterOutsideItsAlphabet_Fails(int code)
    {
        var c = (char)code;
        var lines = Uu(Bytes).Split("\r\n");
        lines[1] = lines[1][..10] + c + lines[1][11..];
        var block = Single(UuBlock(string.Join("\r\n", lines)));
        Assert.That(block.FailClosedReason, Is.EqualTo("uuencode line has characters outside its alphabet"));
        Assert.That(block.Content, Is.EqualTo((byte[])[.. Bytes[..45], .. Bytes[90..]]), "only the damaged line is not decoded");
    }

    [TestCase(58, true)]  // two trailing zero characters dropped
    [TestCase(57, false)]
    [TestCase(61, true)]  // one character too many (some encoders add a check character)
    [TestCase(62, false)]
    public void EmbeddedBlockScanner_UuencodeLineLength_MayMissTwoOrAddOne(int characters, bool decodes)
    {
        var line = "M" + new string('`', characters);
        var block = Single(UuBlock(line + "\r\n"));
        if (decodes) AssertDecoded(block, new byte[45]);
        else
        {
            Assert.That(block.FailClosedReason, Is.EqualTo("uuencode line length does not match its count"));
            Assert.That(block.Content, Is.Empty, "the line is not decoded");
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(4)]
    [TestCase(5)]
    [TestCase(44)]
    public void EmbeddedBlockScanner_UuencodeShortLastLine_DecodesExactly(int length)
    {
        var data = Data(45 + length);
        AssertDecoded(Single(UuBlock(Uu(data))), data);
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeLastLineWithoutItsTrailingZeroCharacters_Decodes()
    {
        byte[] data = [.. Data(45), 0x41, 0x40]; // the last group's two final characters are zero
        var lines = Uu(data).Split("\r\n");
        lines[1] = lines[1].TrimEnd('`');
        Assert.That(lines[1], Has.Length.EqualTo(3));
        AssertDecoded(Single(UuBlock(string.Join("\r\n", lines))), data);
    }

    [Test]
    public void EmbeddedBlockScanner_UuencodeBeginNeedsAnOctalMode()
    {
        Assert.That(Scan($"begin 9 x\r\n{Uu(Bytes)}`\r\nend\r\n").Blocks, Is.Empty);
        Assert.That(Scan($"begin \r\n{Uu(Bytes)}`\r\nend\r\n").Blocks, Is.Empty);
        Assert.That(Scan($"begun 644 x\r\n{Uu(Bytes)}`\r\nend\r\n").Blocks, Is.Empty);
        AssertDecoded(Single($"begin 7 x\r\n{Uu(Bytes)}`\r\nend\r\n"), Bytes);
        AssertDecoded(Single($"begin 0 x\r\n{Uu(Bytes)}`\r\nend\r\n"), Bytes);
    }

    // ---- begin-base64 lines ----

    [Test]
    public void EmbeddedBlockScanner_BeginBase64WithSpacesTabsAndNoPadding_DecodesExactly()
    {
        var text = B64(Bytes).TrimEnd('=');
        var lines = Lines(text, 60).Replace("\r\n", " \t\r\n");
        AssertDecoded(Single($"begin-base64 644 x\r\n{lines}\r\n====\r\n"), Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64WithDamage_FailsWithTheDefect()
    {
        var block = Single($"begin-base64 644 x\r\nQUFB!QUFB\r\nQUFB\r\n====\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("begin-base64 block does not decode (a character outside the base64 alphabet)"));
        Assert.That(block.Content, Is.EqualTo("AAAAAA"u8.ToArray()), "the rest of the damaged line is dropped, the next line read");
    }

    [Test]
    public void EmbeddedBlockScanner_BeginBase64TruncatedAtItsEndLine_Fails()
    {
        var block = Single($"begin-base64 644 x\r\nQUFBQ\r\n====\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("begin-base64 block does not decode (truncated)"));
    }

    // ---- yEnc ----

    [Test]
    public void EmbeddedBlockScanner_YencWithBothSizesWrong_Fails()
    {
        var block = Single("=ybegin line=128 size=4 name=x\r\nklm\r\n=yend size=4\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc size does not match its header"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencTrailerWithoutASize_Fails()
    {
        var block = Single("=ybegin line=128 size=3 name=x\r\nklm\r\n=yend crc32=0\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc size does not match its header"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencSmallBlock_DecodesEscapes()
    {
        // 'k' 'l' 'm' are 0x41..0x43 plus 42; "=J" is an escaped 0x0A + 42 + 64.
        AssertDecoded(Single("=ybegin line=128 size=4 name=x\r\nkl=Jm\r\n=yend size=4\r\n"), [0x41, 0x42, 0xE0, 0x43]);
    }

    [Test]
    public void EmbeddedBlockScanner_YencEscapeAtTheEndOfALine_Fails()
    {
        var block = Single("=ybegin line=128 size=3 name=x\r\nkl=\r\nm\r\n=yend size=3\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc escape at the end of a line"));
    }

    [TestCase("=ybegin line=128 name=x<CR><LF>")]
    [TestCase("=ybegin line=128 size= name=x<CR><LF>")]
    [TestCase("=ybegin line=128 size=x3 name=x<CR><LF>")]
    [TestCase("=ybegin line=128 filesize=3 name=x<CR><LF>")]
    [TestCase("=ybegin size=0000000000000003<CR><LF>")]
    public void EmbeddedBlockScanner_YencHeaderWithoutAReadableSize_Fails(string header)
    {
        header = T(header);
        var block = Single($"{header}klm\r\n=yend size=3\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc header has no size"));
    }

    [Test]
    public void EmbeddedBlockScanner_YencSizeOfFifteenDigits_IsRead()
    {
        AssertDecoded(Single("=ybegin size=000000000000003 line=128\r\nklm\r\n=yend size=3\r\n"), [0x41, 0x42, 0x43]);
    }

    [Test]
    public void EmbeddedBlockScanner_YencPartAfterDamage_KeepsTheFirstReason()
    {
        var block = Single("=ybegin line=128 size=3 name=x\r\n=ypart begin=1 end=3\r\nklm\r\n=yend size=3\r\n");
        Assert.That(block.FailClosedReason, Is.EqualTo("yEnc part of a multi-part file (a fragment cannot be read with certainty)"));
        Assert.That(block.Content, Is.EqualTo(new byte[] { 0x41, 0x42, 0x43 }), "the =ypart line is not data");
    }

    [Test]
    public void EmbeddedBlockScanner_EmptyYencFile_IsNoItem()
    {
        Assert.That(Scan("=ybegin line=128 size=0 name=x\r\n=yend size=0\r\n").Blocks, Is.Empty);
    }

    // ---- one block after another ----

    [Test]
    public void EmbeddedBlockScanner_BlocksOneAfterAnother_AreEachFound()
    {
        var yenc = Encoding.Latin1.GetString(FailClosedCorpus.Yenc(Bytes, "x.jpg"));
        var text = $"begin 644 x.jpg\r\n{Uu(Bytes)}`\r\nend\r\nbegin-base64 644 x.jpg\r\n{Lines(B64(Bytes), 76)}\r\n====\r\n"
            + $"{yenc}begin 644 y.jpg\r\n{Uu(Bytes)}`\r\nend\r\n<img src=\"data:image/png;base64,{B64(Bytes)}\">\r\n";
        var blocks = Scan(text).Blocks;
        Assert.That(blocks.Select(b => b.Kind), Is.EqualTo(new[] { "uuencode block", "begin-base64 block", "yEnc block", "uuencode block", "data: URI (base64)" }));
        foreach (var block in blocks) AssertDecoded(block, Bytes);
    }

    [Test]
    public void EmbeddedBlockScanner_BlockAfterOneWithATooLongLine_IsReadLineByLineAgain()
    {
        var text = $"begin-base64 644 x\r\n{new string('Q', 5000)}\r\n====\r\nbegin-base64 644 y\r\n{Lines(B64(Bytes), 76)}\r\n====\r\n";
        var blocks = Scan(text, 4096).Blocks;
        Assert.That(blocks, Has.Count.EqualTo(2));
        Assert.That(blocks[0].FailClosedReason, Is.EqualTo("begin-base64 line too long"));
        AssertDecoded(blocks[1], Bytes);
    }

    // ---- how many, how large ----

    [Test]
    public void EmbeddedBlockScanner_ExactlyTheAllowance_IsNotTooMany()
    {
        var text = string.Concat(Enumerable.Range(0, 3).Select(_ => "<img src=\"data:image/png;base64,iVBORw0KGgo=\">"));
        var scanner = Scan(text, allowance: 3);
        Assert.That(scanner.Blocks, Has.Count.EqualTo(3));
        Assert.That(scanner.TooMany, Is.False);
    }

    [Test]
    public void EmbeddedBlockScanner_OneOverTheAllowance_IsTooManyWhateverTheKind()
    {
        var text = $"<img src=\"data:image/png;base64,iVBORw0KGgo=\">\r\nbegin 644 x\r\n{Uu(Bytes)}`\r\nend\r\n";
        var scanner = Scan(text, allowance: 1, maxItemBytes: 100); // the uuencoded 301 bytes, not kept, are over the bound too
        Assert.That(scanner.Blocks, Has.Count.EqualTo(1));
        Assert.That(scanner.Blocks[0].Kind, Is.EqualTo("data: URI (base64)"));
        Assert.That(scanner.TooMany, Is.True);
    }

    [TestCase(301, true)]
    [TestCase(300, false)]
    public void EmbeddedBlockScanner_ItemOfExactlyTheBound_IsKept(long maxItemBytes, bool kept)
    {
        var block = Scan($"<img src=\"data:;base64,{B64(Bytes)}\">", maxItemBytes: maxItemBytes).Blocks.Single();
        if (kept) AssertDecoded(block, Bytes);
        else Assert.That(block.FailClosedReason, Is.EqualTo("embedded item larger than 300 bytes (Inspection:MaxEmbeddedItemBytes)"));
    }
}
