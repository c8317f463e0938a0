using Microsoft.Extensions.Options;

namespace PhiMailGateway.Inspection;

/// <summary>Start-up checks for <see cref="InspectionOptions"/>; every failure names the key.</summary>
public sealed class InspectionOptionsValidator : IValidateOptions<InspectionOptions>
{
    public ValidateOptionsResult Validate(string? name, InspectionOptions o)
    {
        var errors = new List<string>();
        if (o.ProtectedKinds is { } kinds)
        {
            var names = string.Join(", ", Enum.GetNames<ImageKind>().Where(n => n != nameof(ImageKind.None)));
            for (var i = 0; i < kinds.Length; i++)
            {
                if (!Enum.TryParse<ImageKind>(kinds[i], ignoreCase: true, out var kind) || int.TryParse(kinds[i], out _))
                    errors.Add($"Inspection:ProtectedKinds:{i}: '{kinds[i]}' is not a kind; use one of {names}.");
                else if (kind == ImageKind.None)
                    errors.Add($"Inspection:ProtectedKinds:{i}: 'None' means 'not a dental image' and cannot be protected.");
            }
        }
        if (o.ProprietaryExtensions is { } extensions)
        {
            for (var i = 0; i < extensions.Length; i++)
            {
                var e = extensions[i]?.Trim() ?? "";
                var bare = e.StartsWith('.') ? e[1..] : e;
                if (bare.Length == 0 || bare.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-' or '.')))
                    errors.Add($"Inspection:ProprietaryExtensions:{i}: '{extensions[i]}' is not a file extension such as .rvg.");
            }
        }
        Positive(errors, "RadiographMinPixels", o.RadiographMinPixels);
        Positive(errors, "ClinicalPhotoMinPixels", o.ClinicalPhotoMinPixels);
        if (o.DecorationMaxBytes < 0) errors.Add($"Inspection:DecorationMaxBytes: must not be negative (got {o.DecorationMaxBytes}).");
        if (o.DecorationMaxPixels < 0) errors.Add($"Inspection:DecorationMaxPixels: must not be negative (got {o.DecorationMaxPixels}).");
        if (o.MaxArchiveDepth is < 0 or > 16) errors.Add($"Inspection:MaxArchiveDepth: must be between 0 and 16 (got {o.MaxArchiveDepth}).");
        if (o.MaxArchiveEntries is < 1 or > 1_000_000) errors.Add($"Inspection:MaxArchiveEntries: must be between 1 and 1000000 (got {o.MaxArchiveEntries}).");
        Positive(errors, "MaxTotalUncompressedBytes", o.MaxTotalUncompressedBytes);
        if (o.MaxCompressionRatio < 2) errors.Add($"Inspection:MaxCompressionRatio: must be at least 2 (got {o.MaxCompressionRatio}).");
        if (o.MaxMimeDepth is < 2 or > 256) errors.Add($"Inspection:MaxMimeDepth: must be between 2 and 256 (got {o.MaxMimeDepth}).");
        if (o.MaxDocumentBytes is < 1 or > int.MaxValue) errors.Add($"Inspection:MaxDocumentBytes: must be between 1 and {int.MaxValue} (got {o.MaxDocumentBytes}).");
        if (o.MaxPdfObjects is < 1 or > 10_000_000) errors.Add($"Inspection:MaxPdfObjects: must be between 1 and 10000000 (got {o.MaxPdfObjects}).");
        if (o.MaxEmbeddedItems is < 1 or > 100_000) errors.Add($"Inspection:MaxEmbeddedItems: must be between 1 and 100000 (got {o.MaxEmbeddedItems}).");
        if (o.MaxEmbeddedItemBytes is < 1024 or > 1L << 30) errors.Add($"Inspection:MaxEmbeddedItemBytes: must be between 1024 and 1073741824 (got {o.MaxEmbeddedItemBytes}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Positive(List<string> errors, string key, long value)
    {
        if (value < 1) errors.Add($"Inspection:{key}: must be positive (got {value}).");
    }
}
