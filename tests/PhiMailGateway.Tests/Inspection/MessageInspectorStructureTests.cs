using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.Inspection.FailClosed;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>
/// The edges of what counts as ambiguous MIME (the whole message fails closed) and what is the
/// ordinary MIME every client writes (nothing is protected for it): preamble size and words,
/// boundary parameters as written, transfer encodings on containers, multiparts with no parts.
/// </summary>
public class MessageInspectorStructureTests
{
    private const string Headers = "From: frontdesk@practice.example\r\nTo: doctor@lab.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n";
    private const string TextPart = "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n";

    private static async Task<InspectionReport> Inspect(string raw)
    {
        using var stream = new MemoryStream(Encoding.Latin1.GetBytes(raw));
        return await new MessageInspector(new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
    }

    private static async Task<IReadOnlyList<string>> AmbiguityReasons(string raw) =>
        (await Inspect(raw)).FailedClosed.Select(f => f.FailClosedReason!).ToList();

    private static string Mixed(string preamble = "", string epilogue = "", string contentType = "multipart/mixed; boundary=\"b1\"", string extraHeaders = "") =>
        Headers + $"Content-Type: {contentType}\r\n{extraHeaders}\r\n{preamble}" + TextPart + "--b1--\r\n" + epilogue;

    private static string Words(int chars, int wordLength = 9)
    {
        var sb = new StringBuilder();
        while (sb.Length < chars) sb.Append(sb.Length % (wordLength + 1) == wordLength ? ' ' : 'w');
        return sb.ToString();
    }

    [Test]
    public async Task MessageInspector_PreambleUpToTheLimit_NotAmbiguous()
    {
        // MimeKit's preamble keeps the line break before the first boundary: 1022 + 2 characters.
        Assert.That(await AmbiguityReasons(Mixed(preamble: Words(1022) + "\r\n")), Is.Empty, "1024 characters of words is a long note, not a hiding place");
    }

    [Test]
    public async Task MessageInspector_PreambleLongerThanTheLimit_WholeMessageUnknown()
    {
        Assert.That(await AmbiguityReasons(Mixed(preamble: Words(1023) + "\r\n")), Has.Some.EqualTo("ambiguous MIME: content before the first boundary"));
    }

    [Test]
    public async Task MessageInspector_PreambleWordOfFortyCharacters_NotAmbiguous()
    {
        Assert.That(await AmbiguityReasons(Mixed(preamble: new string('w', 40) + " and " + new string('w', 40) + "\r\n")), Is.Empty, "each word counts on its own");
        Assert.That(await AmbiguityReasons(Mixed(preamble: new string('w', 40) + "\t" + new string('w', 40) + "\r\n")), Is.Empty, "a tab ends a word too");
    }

    [Test]
    public async Task MessageInspector_PreambleWordOfFortyOneCharacters_WholeMessageUnknown()
    {
        // An encoded blob has no spaces: one long word is how it shows.
        Assert.That(await AmbiguityReasons(Mixed(preamble: new string('w', 41) + "\r\n")), Has.Some.EqualTo("ambiguous MIME: content before the first boundary"));
    }

    [TestCase("\u0001", TestName = "MessageInspector_PreambleWithAControlCharacter_WholeMessageUnknown")]
    [TestCase("\u00E9", TestName = "MessageInspector_PreambleWithAnEightBitCharacter_WholeMessageUnknown")]
    [TestCase("\u007F", TestName = "MessageInspector_PreambleWithDelete_WholeMessageUnknown")]
    public async Task MessageInspector_PreambleWithBytesOutsidePrintableAscii_WholeMessageUnknown(string odd)
    {
        Assert.That(await AmbiguityReasons(Mixed(preamble: "Hello " + odd + " there\r\n")), Has.Some.EqualTo("ambiguous MIME: content before the first boundary"));
    }

    [Test]
    public async Task MessageInspector_PreambleOfPrintableAsciiEdges_NotAmbiguous() =>
        Assert.That(await AmbiguityReasons(Mixed(preamble: "~ tilde and ! bang\r\n")), Is.Empty, "' ' to '~' is the printable range");

    [Test]
    public async Task MessageInspector_WhitespaceEpilogue_NotAmbiguous() =>
        Assert.That(await AmbiguityReasons(Mixed(epilogue: "\r\n  \r\n\t\r\n")), Is.Empty);

    [Test]
    public async Task MessageInspector_EpilogueWithText_WholeMessageUnknown() =>
        Assert.That(await AmbiguityReasons(Mixed(epilogue: "more\r\n")), Has.Some.EqualTo("ambiguous MIME: content after the closing boundary"));

    [TestCase("multipart/mixed; boundary=\"b1\"; name=\"a;boundary=b2\"", TestName = "MessageInspector_BoundaryInsideAQuotedValue_NotCountedTwice")]
    [TestCase("multipart/mixed; name=\"x\\\"; boundary=b2\"; boundary=\"b1\"", TestName = "MessageInspector_BoundaryAfterAnEscapedQuote_StillInsideTheValue")]
    [TestCase("multipart/mixed; boundary*0=\"b\"; boundary*1=\"1\"", TestName = "MessageInspector_Rfc2231ContinuedBoundary_CountedOnce")]
    public async Task MessageInspector_OneBoundaryAsWritten_NotAmbiguous(string contentType) =>
        Assert.That(await AmbiguityReasons(Mixed(contentType: contentType)), Is.Empty);

    [TestCase("multipart/mixed; Boundary=\"b1\"; BOUNDARY=\"b2\"", TestName = "MessageInspector_BoundaryNamesInAnyCase_CountedTwice")]
    [TestCase("multipart/mixed; boundary=\"b1\"; boundary =\"b2\"", TestName = "MessageInspector_BoundaryNameWithSpaceBeforeEquals_CountedTwice")]
    [TestCase("multipart/mixed; boundary=\"b1\"; boundary*=''b2", TestName = "MessageInspector_BoundaryAndExtendedBoundary_CountedTwice")]
    [TestCase("multipart/mixed; boundary=\"b1\"; boundary*0*=''b2", TestName = "MessageInspector_BoundaryAndEncodedContinuation_CountedTwice")]
    public async Task MessageInspector_TwoBoundariesAsWritten_WholeMessageUnknown(string contentType) =>
        Assert.That(await AmbiguityReasons(Mixed(contentType: contentType)), Has.Some.EqualTo("ambiguous MIME: more than one boundary parameter"));

    [TestCase("7bit")]
    [TestCase(" 8BIT ")]
    [TestCase("binary")]
    public async Task MessageInspector_IdentityEncodingOnAMultipart_NotAmbiguous(string encoding) =>
        Assert.That(await AmbiguityReasons(Mixed(extraHeaders: $"Content-Transfer-Encoding: {encoding}\r\n")), Is.Empty, "RFC 2045 6.4 allows these on a multipart");

    [Test]
    public async Task MessageInspector_QuotedPrintableOnAMultipart_WholeMessageUnknownNamingItInLowerCase() =>
        Assert.That(await AmbiguityReasons(Mixed(extraHeaders: "Content-Transfer-Encoding: Quoted-Printable \r\n")),
            Has.Some.EqualTo("ambiguous MIME: Content-Transfer-Encoding quoted-printable on a multipart/mixed part (RFC 2045 6.4 allows none)"));

    [Test]
    public async Task MessageInspector_Base64OnALeafPart_NotAStructureFinding()
    {
        var raw = Headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" + TextPart +
            "--b1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Convert.ToBase64String("Bye"u8) + "\r\n--b1--\r\n";
        Assert.That(await AmbiguityReasons(raw), Is.Empty, "base64 is what leaves are for");
    }

    [Test]
    public async Task MessageInspector_MultipartWithoutAnyPart_NotUnclosed()
    {
        // No boundary line at all: the short note is the preamble, and there is no last part to be unclosed after.
        var raw = Headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nNothing attached after all.\r\n";
        var report = await Inspect(raw);
        Assert.That(report.FailedClosed, Is.Empty, FailClosedInspectionTests.Describe(report));
    }

    [Test]
    public async Task MessageInspector_AmbiguousMultipart_PartsInsideStillWalked()
    {
        // The whole message fails closed, and the images inside are still found and reported for the audit.
        var dicom = DentalCorpus.Dicom();
        var raw = Headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" + TextPart +
            "--b1\r\nContent-Type: application/dicom\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Convert.ToBase64String(dicom, Base64FormattingOptions.InsertLineBreaks) +
            "\r\n--b1--\r\nmore\r\n";
        var report = await Inspect(raw);
        Assert.That(report.FailedClosed.Select(f => f.FailClosedReason), Has.Some.EqualTo("ambiguous MIME: content after the closing boundary"), FailClosedInspectionTests.Describe(report));
        Assert.That(report.Findings.Any(f => f.Kind == ImageKind.Dicom && f.FailClosedReason is null), Is.True, FailClosedInspectionTests.Describe(report));
    }
}
