using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using PhiMailGateway.Hosting;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class InspectionOptionsTests
{
    [Test]
    public void InspectionOptions_Defaults_ProtectAllButDecoration()
    {
        var kinds = new InspectionOptions().EffectiveProtectedKinds;
        Assert.That(kinds, Does.Not.Contain(ImageKind.Decoration).And.Not.Contain(ImageKind.None));
        Assert.That(kinds, Is.SupersetOf(new[] { ImageKind.Dicom, ImageKind.Radiograph, ImageKind.ClinicalPhoto, ImageKind.Scan3D, ImageKind.ProprietaryImaging, ImageKind.Unknown }));
        Assert.That(new InspectionOptionsValidator().Validate(null, new InspectionOptions()).Succeeded, Is.True);
    }

    [Test]
    public void InspectionOptionsValidator_BadValues_NameTheKeys()
    {
        var result = new InspectionOptionsValidator().Validate(null, new InspectionOptions
        {
            ProtectedKinds = ["Dicom", "Foo", "None"], ProprietaryExtensions = [".rvg", "bad ext"], MaxArchiveDepth = -1, MaxCompressionRatio = 1,
            MaxDocumentBytes = 0, MaxPdfObjects = 0,
        });
        Assert.That(result.Failed, Is.True);
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:ProtectedKinds:1: 'Foo' is not a kind"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:ProtectedKinds:2:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:ProprietaryExtensions:1:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxArchiveDepth:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxCompressionRatio:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxDocumentBytes:"));
        Assert.That(result.Failures, Has.Some.StartsWith("Inspection:MaxPdfObjects:"));
    }

    [Test]
    public void GatewayHost_ConfiguredProtectedKinds_ReplaceTheDefault()
    {
        using var dir = new TempDirectory();
        using var host = GatewayHost.Build([], new Dictionary<string, string?>
        {
            ["Gateway:DataDirectory"] = dir.Path, ["Inspection:ProtectedKinds:0"] = "Dicom", ["Inspection:ProprietaryExtensions:0"] = ".xyz",
        });
        var options = host.Services.GetRequiredService<InspectionOptions>();
        Assert.That(options.EffectiveProtectedKinds, Is.EquivalentTo(new[] { ImageKind.Dicom, ImageKind.Unknown }), "a configured list replaces the default, it does not append to it");
        Assert.That(options.EffectiveProprietaryExtensions, Is.EquivalentTo(new[] { ".xyz" }));
    }

    [Test]
    public void GatewayHost_UnknownKind_FailsValidationNamingTheKey()
    {
        using var dir = new TempDirectory();
        using var host = GatewayHost.Build([], new Dictionary<string, string?> { ["Gateway:DataDirectory"] = dir.Path, ["Inspection:ProtectedKinds:0"] = "Foo" });
        var e = Assert.Throws<OptionsValidationException>(() => _ = host.Services.GetRequiredService<IOptions<InspectionOptions>>().Value);
        Assert.That(e!.Message, Does.Contain("Inspection:ProtectedKinds:0: 'Foo' is not a kind"));
    }
}
