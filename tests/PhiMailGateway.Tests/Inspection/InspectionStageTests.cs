using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Inspection;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class InspectionStageTests
{
    private static async Task<SpoolEntry> SpooledMessage(TempDirectory dir, byte[] message)
    {
        // A spool-like file: something before the message, so the message starts at an offset.
        var path = Path.Combine(dir.Path, "Q1.msg");
        var head = Encoding.ASCII.GetBytes("PHIMAIL-SPOOL 1\r\n{}\r\n");
        await File.WriteAllBytesAsync(path, [.. head, .. message]);
        var envelope = new Envelope("frontdesk@practice.example", ["doctor@lab.example"], null, "127.0.0.1", "pc", DateTimeOffset.UtcNow, false);
        return new SpoolEntry("Q1", path, head.Length, message.Length, envelope);
    }

    private static InspectionStage Stage(TempDirectory dir, ILogger<InspectionStage>? logger = null) =>
        new(new InspectionOptions(), new SpoolDirectory(new GatewayOptions { DataDirectory = dir.Path }), logger ?? NullLogger<InspectionStage>.Instance);

    [Test]
    public async Task InspectionStage_ZipOfXraysInSpoolFile_ReportsBothKinds()
    {
        using var dir = new TempDirectory();
        var message = await SpooledMessage(dir, DentalCorpus.WithAttachments(("xrays.zip", DentalCorpus.ZipOfXrays(), "application/zip")).ToBytes());
        var report = await Stage(dir).InspectAsync(message, CancellationToken.None);
        Assert.That(report.HasDentalImage, Is.True);
        Assert.That(report.Kinds, Is.EqualTo(new[] { ImageKind.Dicom, ImageKind.Radiograph }));
        Assert.That(Directory.GetFiles(Path.Combine(dir.Path, "spool", "scratch")), Is.Empty, "scratch files are deleted on close");
    }

    [Test]
    public async Task InspectionStage_BrokenMessage_ReportFailsClosed()
    {
        using var dir = new TempDirectory();
        var message = await SpooledMessage(dir, []);
        var report = await Stage(dir).InspectAsync(message, CancellationToken.None);
        Assert.That(report.HasDentalImage, Is.True);
    }

    [Test]
    public async Task InspectionStage_Logs_NoFileNamesSubjectsOrPatientData()
    {
        using var dir = new TempDirectory();
        var message = DentalCorpus.WithAttachments(("TEST-PATIENT-bitewing.dcm", DentalCorpus.Dicom(), "application/dicom"), ("x.jpg", new byte[100], "image/jpeg"));
        var spooled = await SpooledMessage(dir, message.ToBytes());
        var logger = new RecordingLogger();
        await Stage(dir, logger).InspectAsync(spooled, CancellationToken.None);
        Assert.That(logger.Lines, Has.Count.GreaterThanOrEqualTo(2));
        foreach (var line in logger.Lines)
        {
            Assert.That(line, Does.Not.Contain("TEST").And.Not.Contain("bitewing").And.Not.Contain("Referral").And.Not.Contain(".jpg"));
        }
        Assert.That(logger.EventIds, Has.All.InRange(5100, 5199));
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
