using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

/// <summary>The .eml files in samples/ (synthetic data only) are README examples and test input.</summary>
public class SampleMessagesTests
{
    private static readonly (string File, Func<MimeMessage> Build, ImageKind? Expected)[] Samples =
    [
        ("xray-dicom.eml", () => DentalCorpus.WithAttachments(("bitewing.dcm", DentalCorpus.Dicom(), "application/dicom")), ImageKind.Dicom),
        ("intraoral-photo.eml", () => DentalCorpus.WithAttachments(("smile.jpg", DentalCorpus.Jpeg(1600, 1200, 3, 2048), "image/jpeg")), ImageKind.ClinicalPhoto),
        ("zip-of-xrays.eml", () => DentalCorpus.WithAttachments(("xrays.zip", DentalCorpus.Zip(("bitewing.dcm", DentalCorpus.Dicom()), ("pano.jpg", DentalCorpus.Jpeg(2000, 1000, 1, 2048))), "application/zip")), ImageKind.Dicom),
        ("signature-logo.eml", () => DentalCorpus.WithInlineImage(DentalCorpus.SignatureLogoPng(), "logo.png", "image/png"), null),
    ];

    /// <summary>Regenerates samples/*.eml; run by hand (dotnet test --filter Name=SampleMessages_Write) and commit the files.</summary>
    [Test, Explicit("writes into the source tree")]
    public void SampleMessages_Write()
    {
        var samples = Path.Combine(FindRepositoryRoot(), "samples");
        foreach (var (file, build, _) in Samples)
        {
            var message = build();
            message.MessageId = Path.GetFileNameWithoutExtension(file) + "@practice.example";
            using var stream = File.Create(Path.Combine(samples, file));
            // samples/ holds byte-exact SMTP input: CRLF line ends (see samples/.gitattributes).
            message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, stream);
        }
    }

    [Test]
    public async Task SampleMessages_CommittedFiles_ClassifyAsDocumented()
    {
        foreach (var (file, _, expected) in Samples)
        {
            var path = Path.Combine(AppContext.BaseDirectory, "samples", file);
            Assert.That(File.Exists(path), Is.True, $"{file} is committed in samples/");
            await using var stream = File.OpenRead(path);
            var report = await new MessageInspector(new InspectionOptions()).InspectAsync(stream, CancellationToken.None);
            Assert.That(report.HasDentalImage, Is.EqualTo(expected is not null), file);
            if (expected is { } kind) Assert.That(report.Kinds, Does.Contain(kind), file);
        }
    }

    private static string FindRepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PhiMailGateway.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root not found");
    }
}
