using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class InspectionStageTests
{
    private static async Task<MessageContext> SpooledContext(TempDirectory dir, byte[] message)
    {
        // A spool-like file: something before the message, so the message starts at an offset.
        var path = Path.Combine(dir.Path, "Q1.msg");
        var head = Encoding.ASCII.GetBytes("PHIMAIL-SPOOL 1\r\n{}\r\n");
        await File.WriteAllBytesAsync(path, [.. head, .. message]);
        var envelope = new Envelope("frontdesk@practice.example", ["doctor@lab.example"], null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        return new MessageContext("Q1", envelope, new SpoolEntry("Q1", path, head.Length, message.Length, envelope));
    }

    private static InspectionStage Stage(TempDirectory dir, ILogger<InspectionStage>? logger = null) =>
        new(new InspectionOptions(), new SpoolDirectory(new GatewayOptions { DataDirectory = dir.Path }), logger ?? NullLogger<InspectionStage>.Instance);

    [Test]
    public async Task InspectionStage_ZipOfXraysInSpoolFile_ReportOnContextAndContinues()
    {
        using var dir = new TempDirectory();
        var context = await SpooledContext(dir, DentalCorpus.WithAttachments(("xrays.zip", DentalCorpus.ZipOfXrays(), "application/zip")).ToBytes());
        var result = await Stage(dir).ProcessAsync(context, CancellationToken.None);
        Assert.That(result, Is.EqualTo(StageResult.Continue));
        Assert.That(context.Inspection!.HasDentalImage, Is.True);
        Assert.That(context.Inspection.Kinds, Is.EqualTo(new[] { ImageKind.Dicom, ImageKind.Radiograph }));
        Assert.That(Directory.GetFiles(Path.Combine(dir.Path, "spool", "scratch")), Is.Empty, "scratch files are deleted on close");
    }

    [Test]
    public async Task InspectionStage_BrokenMessage_ContinuesWithFailClosedReport()
    {
        using var dir = new TempDirectory();
        var context = await SpooledContext(dir, []);
        var result = await Stage(dir).ProcessAsync(context, CancellationToken.None);
        Assert.That(result, Is.EqualTo(StageResult.Continue));
        Assert.That(context.Inspection!.HasDentalImage, Is.True);
    }

    [Test]
    public async Task InspectionStage_Logs_NoFileNamesSubjectsOrPatientData()
    {
        using var dir = new TempDirectory();
        var message = DentalCorpus.WithAttachments(("TEST-PATIENT-bitewing.dcm", DentalCorpus.Dicom(), "application/dicom"), ("x.jpg", new byte[100], "image/jpeg"));
        var context = await SpooledContext(dir, message.ToBytes());
        var logger = new RecordingLogger();
        await Stage(dir, logger).ProcessAsync(context, CancellationToken.None);
        Assert.That(logger.Lines, Has.Count.GreaterThanOrEqualTo(2));
        foreach (var line in logger.Lines)
        {
            Assert.That(line, Does.Not.Contain("TEST").And.Not.Contain("bitewing").And.Not.Contain("Referral").And.Not.Contain(".jpg"));
        }
        Assert.That(logger.EventIds, Has.All.InRange(5100, 5199));
    }

    [Test]
    public async Task InspectionStage_CleanMessage_LendsItsParseOnce_ForTheFirstProtector()
    {
        using var dir = new TempDirectory();
        var bytes = DentalCorpus.WithAttachments(("x.dcm", DentalCorpus.Dicom(), "application/dicom")).ToBytes();
        await using var context = await SpooledContext(dir, bytes);
        await Stage(dir).ProcessAsync(context, CancellationToken.None);

        await using (var lent = context.TakeParsed())
        {
            Assert.That(lent, Is.Not.Null);
            var original = await MimeKit.MimeMessage.LoadAsync(new MemoryStream(bytes));
            Assert.That(lent!.Message.Subject, Is.EqualTo(original.Subject));
            Assert.That(lent.Message.Attachments.Count(), Is.EqualTo(original.Attachments.Count()));
        }
        Assert.That(context.TakeParsed(), Is.Null, "lent once; later protectors parse again");
    }

    [Test]
    public async Task InspectionStage_MessageThatFailedClosed_LendsNothing()
    {
        using var dir = new TempDirectory();
        await using var context = await SpooledContext(dir, DentalCorpus.WithAttachments(("x.jpg", new byte[100], "image/jpeg")).ToBytes());
        await Stage(dir).ProcessAsync(context, CancellationToken.None);
        Assert.That(context.Inspection!.FailedClosed, Is.Not.Empty, "a 100-byte 'JPEG' cannot be inspected");
        Assert.That(context.TakeParsed(), Is.Null);
    }

    private sealed class RecordingLogger : ILogger<InspectionStage>
    {
        public List<string> Lines { get; } = [];
        public List<int> EventIds { get; } = [];
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            Lines.Add(formatter(state, exception));
            EventIds.Add(eventId.Id);
        }
    }
}
