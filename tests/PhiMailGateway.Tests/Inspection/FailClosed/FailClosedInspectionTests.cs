using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

/// <summary>
/// The inspection-level half of the fail-closed corpus: every shape must come out with a protected
/// finding, read from a file as the gateway reads its spool (MimeKit's persistent mode) and from
/// memory. The end-to-end half (FailClosedEndToEndTests) checks the bytes at the smarthost.
/// </summary>
public class FailClosedInspectionTests
{
    public static IEnumerable<CorpusShape> Shapes() => FailClosedCorpus.All();

    [TestCaseSource(nameof(Shapes))]
    public async Task Shape_InspectedFromTheSpoolFile_HasAProtectedFinding(CorpusShape shape)
    {
        var path = Path.Combine(Path.GetTempPath(), $"failclosed-{Guid.NewGuid():N}.eml");
        await File.WriteAllBytesAsync(path, shape.Message);
        try
        {
            InspectionReport report;
            await using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, FileOptions.Asynchronous))
                report = await new MessageInspector(new InspectionOptions()).InspectAsync(file, CancellationToken.None);
            Assert.That(report.HasDentalImage, Is.True, $"{shape.Name}:\n{Describe(report)}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task Shape_InspectedFromMemory_HasAProtectedFinding(CorpusShape shape)
    {
        using var stream = new MemoryStream(shape.Message);
        var report = await new MessageInspector(new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
        Assert.That(report.HasDentalImage, Is.True, $"{shape.Name}:\n{Describe(report)}");
    }

    internal static string Describe(InspectionReport report) =>
        string.Join("\n", report.Findings.Select(f => $"{f.Path}: {f.Kind} {f.Format} {f.Width}x{f.Height} protected={f.IsProtected} {f.FailClosedReason}"));
}
