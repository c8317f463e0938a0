using System.Text;
using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.Inspection.FailClosed;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>The inspector on the shapes of the message's text and structure: the right reason, at the right anchor.</summary>
public class MessageInspectorMimeShapesTests
{
    private const string Headers = "From: frontdesk@practice.example\r\nTo: doctor@lab.example\r\nSubject: x\r\nMIME-Version: 1.0\r\n";

    private static async Task<InspectionReport> Inspect(byte[] raw, InspectionOptions? options = null)
    {
        using var stream = new MemoryStream(raw);
        return await new MessageInspector(options ?? new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
    }

    private static Task<InspectionReport> InspectShape(string name) =>
        Inspect(FailClosedCorpus.MimeShapes().Single(s => s.Name == name).Message);

    private static string Describe(InspectionReport report) => FailClosedInspectionTests.Describe(report);

    [TestCase("two-boundary-parameters", "more than one boundary parameter")]
    [TestCase("multipart-without-boundary", "a multipart without a boundary")]
    [TestCase("multipart-empty-boundary", "a multipart without a boundary")]
    [TestCase("image-after-closing-boundary", "content after the closing boundary")]
    [TestCase("image-in-preamble", "content before the first boundary")]
    [TestCase("base64-on-multipart", "Content-Transfer-Encoding base64 on a multipart/mixed part")]
    [TestCase("base64-on-message-rfc822", "Content-Transfer-Encoding base64 on a message/rfc822 part")]
    [TestCase("duplicate-content-type", "more than one Content-Type header")]
    [TestCase("duplicate-transfer-encoding", "more than one Content-Transfer-Encoding header")]
    [TestCase("multipart-never-closed", "closing boundary never comes")]
    public async Task MessageInspector_AmbiguousStructure_UnknownForTheWholeMessage(string shape, string reason)
    {
        var report = await InspectShape(shape);
        var finding = report.FailedClosed.FirstOrDefault(f => f.FailClosedReason!.Contains(reason, StringComparison.Ordinal));
        Assert.That(finding, Is.Not.Null, Describe(report));
        Assert.That(finding!.Kind, Is.EqualTo(ImageKind.Unknown));
        Assert.That(finding.PartSpecifier, Is.EqualTo(InspectionFinding.WholeMessageSpecifier), "no single part holds what another parser would see");
    }

    [Test]
    public async Task MessageInspector_UsualPreambleAndClosedMultipart_NoStructureFinding()
    {
        var raw = Encoding.ASCII.GetBytes(Headers + "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n" +
            "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\nContent-Type: text/plain\r\n\r\nBye\r\n--b1--\r\n\r\n");
        var report = await Inspect(raw);
        Assert.That(report.HasDentalImage, Is.False, Describe(report));
    }

    [Test]
    public async Task MessageInspector_EveryCorpusMessageBuiltByMimeKit_NoStructureFinding()
    {
        // What MimeKit and Outlook-like builders write must never look ambiguous, or every mail would be protected.
        var messages = new[]
        {
            DentalCorpus.Message(html: "<p>Hi</p>"),
            DentalCorpus.WithAttachments(("letter.txt", "Referral"u8.ToArray(), "text/plain")),
            DentalCorpus.WithInlineImage(DentalCorpus.SignatureLogoPng(), "logo.png", "image/png"),
            DentalCorpus.Forwarding(DentalCorpus.Message()),
        };
        foreach (var message in messages)
        {
            var report = await Inspect(FailClosedCorpus.Wire(message));
            Assert.That(report.FailedClosed, Is.Empty, Describe(report));
        }
    }

    [Test]
    public async Task MessageInspector_MessagePartial_UnknownAtThePart()
    {
        var report = await InspectShape("message-partial");
        Assert.That(report.FailedClosed.Single().FailClosedReason, Does.Contain("message/partial"));
    }

    [TestCase("html-data-uri-img", ImageKind.Radiograph, "2")]
    [TestCase("text-data-uri-dicom", ImageKind.Dicom, "1")]
    [TestCase("text-uuencode-block", ImageKind.Radiograph, "1")]
    [TestCase("text-yenc-block", ImageKind.Dicom, "1")]
    public async Task MessageInspector_ImageInTheText_FoundAndAnchoredAtTheTextPart(string shape, ImageKind kind, string specifier)
    {
        var report = await InspectShape(shape);
        var finding = report.Findings.SingleOrDefault(f => f.Kind == kind);
        Assert.That(finding, Is.Not.Null, Describe(report));
        Assert.That(finding!.PartSpecifier, Is.EqualTo(specifier), "protecting the text part covers the image in it");
        Assert.That(finding.IsProtected, Is.True);
    }

    [Test]
    public async Task MessageInspector_DataUriThatDoesNotDecode_Unknown()
    {
        var raw = Encoding.ASCII.GetBytes(Headers + "Content-Type: text/html\r\n\r\n<img src=\"data:image/jpeg;base64,/9j/4A==AQSkZJRgABAQ\">\r\n");
        var report = await Inspect(raw);
        Assert.That(report.FailedClosed.Single().FailClosedReason, Does.Contain("padding in the middle"), Describe(report));
    }

    [Test]
    public async Task MessageInspector_MoreEmbeddedItemsThanAllowed_UnknownNamingTheKey()
    {
        var icons = string.Concat(Enumerable.Range(0, 4).Select(_ => $"<img src=\"data:image/png;base64,{Convert.ToBase64String(DentalCorpus.SignatureLogoPng())}\">"));
        var raw = Encoding.ASCII.GetBytes(Headers + "Content-Type: text/html\r\n\r\n" + icons + "\r\n");
        var loose = await Inspect(raw);
        Assert.That(loose.HasDentalImage, Is.False, "small icons are no dental image: " + Describe(loose));
        var report = await Inspect(raw, new InspectionOptions { MaxEmbeddedItems = 3 });
        Assert.That(report.FailedClosed.Select(f => f.FailClosedReason), Has.Some.Contains("Inspection:MaxEmbeddedItems"), Describe(report));
    }

    [Test]
    public async Task MessageInspector_EmbeddedItemLargerThanAllowed_UnknownNamingTheKey()
    {
        var report = await InspectShape("html-data-uri-img");
        Assert.That(report.HasDentalImage, Is.True);
        var bounded = await Inspect(FailClosedCorpus.MimeShapes().Single(s => s.Name == "html-data-uri-img").Message, new InspectionOptions { MaxEmbeddedItemBytes = 4096 });
        Assert.That(bounded.FailedClosed.Select(f => f.FailClosedReason), Has.Some.Contains("Inspection:MaxEmbeddedItemBytes"), Describe(bounded));
    }

    [Test]
    public async Task MessageInspector_ForwardedEmlAsOctetStream_WalkedLikeAnAttachedMessage()
    {
        var report = await InspectShape("octet-stream-fwd-eml");
        var dicom = report.Findings.Single(f => f.Kind == ImageKind.Dicom);
        Assert.That(dicom.PartSpecifier, Is.EqualTo("2"), "protection moves the .eml part as a whole");
        Assert.That(dicom.Path, Does.Contain("attached message"));
    }

    [Test]
    public async Task MessageInspector_EmlNestedFarDeeperThanTheBound_UnknownWithoutOverflowingTheStack()
    {
        // Each level is a message whose body is the next one, declared application/octet-stream.
        var inner = Encoding.ASCII.GetBytes(Headers + "Content-Type: text/plain\r\n\r\nHello\r\n");
        for (var i = 0; i < 300; i++)
            inner = [.. Encoding.ASCII.GetBytes(Headers + "Content-Type: application/octet-stream\r\n\r\n"), .. inner];
        var report = await Inspect(inner);
        Assert.That(report.FailedClosed.Select(f => f.FailClosedReason), Has.Some.Contains("Inspection:MaxMimeDepth"), Describe(report));
    }

    // GC.GetTotalAllocatedBytes counts the whole process: alone, so only this test's allocations count.
    [Test]
    [NonParallelizable]
    public async Task MessageInspector_HugeTextPartFromFile_ScannedWithoutLoadingIt()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "huge.eml");
        var line = Encoding.ASCII.GetBytes(new string('x', 70) + " lorem ipsum\r\n");
        await using (var file = File.Create(path))
        {
            await file.WriteAsync(Encoding.ASCII.GetBytes(Headers + "Content-Type: text/plain\r\n\r\n"));
            for (long written = 0; written < 50L << 20; written += line.Length) await file.WriteAsync(line);
            await file.WriteAsync(Encoding.ASCII.GetBytes($"data:application/dicom;base64,{Convert.ToBase64String(DentalCorpus.Dicom())}\r\n"));
        }
        GC.Collect();
        var before = GC.GetTotalAllocatedBytes(precise: true);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        InspectionReport report;
        await using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            report = await new MessageInspector(new InspectionOptions(), dir.Path).InspectAsync(stream, CancellationToken.None);
        clock.Stop();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        TestContext.Out.WriteLine($"50 MiB text part inspected in {clock.ElapsedMilliseconds} ms, {allocated >> 20} MiB allocated");
        Assert.That(report.Findings.Count(f => f.Kind == ImageKind.Dicom), Is.EqualTo(1), "the data: URI at the very end is found: " + Describe(report));
        Assert.That(allocated, Is.LessThan(20L << 20), "a 50 MiB text part is streamed past the scanner, never held whole");
    }

    [TestCase("From: a@b.example\r\nTo: c@d.example\r\nSubject: hi\r\n\r\nbody", true)]
    [TestCase("Received: from x\r\n\tby y; Tue, 2 Jan 2024\r\nMessage-ID: <a@b>\r\n\r\n", true)]
    [TestCase("X-Custom: 1\r\nContent-Type: text/plain\r\n\r\nhello", true)]
    [TestCase("Dear colleague,\r\nplease see the X-ray.\r\n", false)]
    [TestCase("X-Only: 1\r\n\r\nbody", false)]
    [TestCase("Note: From: is a header\r\n", false)]
    [TestCase(" From: indented\r\n\r\n", false)]
    public void MessageHeaderSniffer_Prefix_RecognisesMessages(string text, bool expected)
    {
        Assert.That(MessageHeaderSniffer.LooksLikeMessage(Encoding.ASCII.GetBytes(text)), Is.EqualTo(expected));
    }

    [Test]
    public void PickupProtector_WholeMessageFinding_PackagesTheWholeMessage()
    {
        var message = DentalCorpus.WithAttachments(("letter.txt", "Referral"u8.ToArray(), "text/plain"));
        var report = new InspectionReport
        {
            Findings =
            [
                new InspectionFinding { Kind = ImageKind.ClinicalPhoto, Format = "JPEG", Size = 1, Path = "part 2", TopLevelPartIndex = 1, PartSpecifier = "2", IsProtected = true },
                new InspectionFinding { Kind = ImageKind.Unknown, Format = "Unknown", Size = 0, Path = "part 1", TopLevelPartIndex = 0, PartSpecifier = InspectionFinding.WholeMessageSpecifier, FailClosedReason = "ambiguous MIME", IsProtected = true },
            ],
        };
        Assert.That(PickupProtector.ProtectedEntities(message, report), Is.Empty, "no part is cut out: the whole message goes to the package");
    }

    [Test]
    public void InspectionOptionsValidator_EmbeddedBounds_NameTheKeys()
    {
        var result = new InspectionOptionsValidator().Validate(null, new InspectionOptions { MaxEmbeddedItems = 0, MaxEmbeddedItemBytes = 10 });
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxEmbeddedItems:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxEmbeddedItemBytes:"));
    }
}
