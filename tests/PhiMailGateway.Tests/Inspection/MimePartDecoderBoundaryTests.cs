using System.Text;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// <see cref="MimePartDecoder.RemoveWhitespace"/> on the layouts base64 arrives in: whatever the
/// line lengths and breaks, every character outside CR, LF, space and tab is kept, in order.
/// A mistake here would not always show in decoded bytes (a damaged result falls back to MimeKit),
/// so the text itself is compared. Found by mutation testing (tests/README.md).
/// </summary>
public class MimePartDecoderBoundaryTests
{
    private static string Removed(string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var length = MimePartDecoder.RemoveWhitespace(bytes);
        return Encoding.ASCII.GetString(bytes, 0, length);
    }

    private static string WithoutWhitespace(string text) => new(text.Where(c => c is not ('\r' or '\n' or ' ' or '\t')).ToArray());

    /// <summary>Distinct characters per line (a shifted copy would show), <paramref name="lines"/> lines of <paramref name="width"/>.</summary>
    private static string Lines(int lines, int width, string lineEnd = "\r\n", int lastWidth = -1, bool endWithBreak = true)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        var sb = new StringBuilder();
        var n = 0;
        for (var i = 0; i < lines; i++)
        {
            var w = i == lines - 1 && lastWidth >= 0 ? lastWidth : width;
            for (var j = 0; j < w; j++) sb.Append(alphabet[n++ % alphabet.Length]);
            if (i < lines - 1 || endWithBreak) sb.Append(lineEnd);
        }
        return sb.ToString();
    }

    [TestCase(10, 76, 76, true, TestName = "RemoveWhitespace_RegularLinesEndingInCrLf_AllTextInOrder")]
    [TestCase(10, 76, 76, false, TestName = "RemoveWhitespace_RegularLinesWithoutTheLastBreak_AllTextInOrder")]
    [TestCase(10, 76, 20, true, TestName = "RemoveWhitespace_ShortLastLine_AllTextInOrder")]
    [TestCase(10, 76, 20, false, TestName = "RemoveWhitespace_ShortLastLineWithoutBreak_AllTextInOrder")]
    [TestCase(10, 76, 77, true, TestName = "RemoveWhitespace_LongerLastLine_AllTextInOrder")]
    [TestCase(3, 4, 4, true, TestName = "RemoveWhitespace_ThreeShortLines_AllTextInOrder")]
    [TestCase(2, 76, 76, true, TestName = "RemoveWhitespace_TwoLines_AllTextInOrder")]
    [TestCase(1, 76, 76, true, TestName = "RemoveWhitespace_OneLine_AllTextInOrder")]
    [TestCase(40, 1, 1, true, TestName = "RemoveWhitespace_LinesOfOneCharacter_AllTextInOrder")]
    public void RemoveWhitespace_CrLfLayouts_KeepEveryCharacterInOrder(int lines, int width, int lastWidth, bool endWithBreak)
    {
        var text = Lines(lines, width, lastWidth: lastWidth, endWithBreak: endWithBreak);
        Assert.That(Removed(text), Is.EqualTo(WithoutWhitespace(text)));
    }

    [TestCase("\n", TestName = "RemoveWhitespace_LfOnlyLines_AllTextInOrder")]
    [TestCase("\r", TestName = "RemoveWhitespace_CrOnlyLines_AllTextInOrder")]
    [TestCase(" \r\n", TestName = "RemoveWhitespace_TrailingBlankBeforeEachBreak_AllTextInOrder")]
    [TestCase("\r\n\r\n", TestName = "RemoveWhitespace_BlankLineAfterEachLine_AllTextInOrder")]
    [TestCase("\r\n ", TestName = "RemoveWhitespace_IndentedLines_AllTextInOrder")]
    [TestCase("\n\r", TestName = "RemoveWhitespace_LfCrBreaks_AllTextInOrder")]
    public void RemoveWhitespace_OtherBreaks_KeepEveryCharacterInOrder(string lineEnd)
    {
        var text = Lines(12, 76, lineEnd);
        Assert.That(Removed(text), Is.EqualTo(WithoutWhitespace(text)));
    }

    [Test]
    public void RemoveWhitespace_LineLengthChangingHalfWay_AllTextInOrder()
    {
        var text = Lines(5, 76) + Lines(5, 64) + Lines(3, 76, endWithBreak: false);
        Assert.That(Removed(text), Is.EqualTo(WithoutWhitespace(text)));
    }

    [Test]
    public void RemoveWhitespace_LeadingBlanksAndBreaks_AllTextInOrder()
    {
        var text = " \t\r\n\r\n" + Lines(6, 76) + "\r\n \t";
        Assert.That(Removed(text), Is.EqualTo(WithoutWhitespace(text)));
    }

    [Test]
    public void RemoveWhitespace_NoWhitespaceAtAll_LengthUnchanged()
    {
        var bytes = Encoding.ASCII.GetBytes(Lines(1, 100, endWithBreak: false));
        Assert.That(MimePartDecoder.RemoveWhitespace(bytes), Is.EqualTo(100));
    }

    [Test]
    public void RemoveWhitespace_OnlyWhitespace_Empty() =>
        Assert.That(Removed(" \r\n\t\r\n  "), Is.Empty);

    [Test]
    public void RemoveWhitespace_BlankInsideALineAfterTwoRegularOnes_KeptForTheStrictDecoderToRefuse()
    {
        // Line 2, between two CRLFs, sets the length (4); line 3 has that length and ends in CRLF, so
        // it is copied whole without being searched: its blank stays, and the strict decoder then refuses
        // the group, which sends the part to MimeKit (MimePartDecoderTests). Searching every line
        // would cost more than the decoding.
        Assert.That(Removed("AAAA\r\nBBBB\r\nC CC\r\nDDDD\r\n"), Is.EqualTo("AAAABBBBC CCDDDD"));
    }

    [Test]
    public void RemoveWhitespace_BlankInsideTheFirstLines_Removed()
    {
        // Until a line has been framed by CRLFs on both sides every character is looked at.
        Assert.That(Removed("A AA\r\nB BB\r\n"), Is.EqualTo("AAABBB"));
    }
}
