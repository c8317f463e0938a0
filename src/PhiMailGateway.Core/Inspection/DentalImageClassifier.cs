namespace PhiMailGateway.Inspection;

/// <summary>
/// Turns what the bytes say (<see cref="SniffResult"/>) and where the part sits into an
/// <see cref="ImageKind"/>. Content decides; the declared type and file name can only make the
/// verdict stricter: a part that claims to be an image but is not recognisable fails closed.
/// </summary>
public sealed class DentalImageClassifier(InspectionOptions options)
{
    private readonly IReadOnlySet<ImageKind> _protected = options.EffectiveProtectedKinds;
    private readonly IReadOnlySet<string> _proprietary = options.EffectiveProprietaryExtensions;

    private static readonly HashSet<string> ImageExtensions = new(StringComparer.OrdinalIgnoreCase)
    {
        ".dcm", ".dicom", ".dic", ".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".jp2", ".j2k", ".jpx", ".bmp", ".gif",
        ".webp", ".heic", ".heif", ".avif", ".stl", ".ply", ".obj",
    };

    private static readonly HashSet<string> ImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "application/dicom", "application/dicom+json", "model/stl", "model/x.stl-binary", "model/x.stl-ascii", "application/sla",
        "application/vnd.ms-pki.stl", "model/obj", "model/ply", "application/ms-tnef", "application/vnd.ms-tnef",
        "application/zip", "application/x-zip-compressed",
    };

    // Declared image types that are drawings or icons, not photographs of anyone.
    private static readonly HashSet<string> HarmlessImageTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon",
    };

    public bool IsProtectedKind(ImageKind kind) => _protected.Contains(kind);

    public bool IsProprietaryName(string? fileName) =>
        fileName is not null && _proprietary.Contains(System.IO.Path.GetExtension(fileName));

    /// <returns>The kind, and the fail-closed reason when the part could not be inspected.</returns>
    public (ImageKind Kind, string? FailClosedReason) Classify(SniffResult sniff, long size, string? fileName, string? declaredType, bool referencedByCid)
    {
        switch (sniff.Family)
        {
            case ContentFamily.Dicom:
                return (ImageKind.Dicom, sniff.Dicom is { Damaged: true } d ? $"DICOM header damaged: {d.IncompleteReason}" : null);

            case ContentFamily.Raster when sniff.Error is not null:
                return (ImageKind.Unknown, $"{sniff.Format} header could not be read: {sniff.Error}");

            case ContentFamily.Raster:
                var kind = ClassifyRaster(sniff, size, referencedByCid);
                return (kind == ImageKind.None && IsProprietaryName(fileName) ? ImageKind.ProprietaryImaging : kind, null);

            case ContentFamily.Mesh:
                return (ImageKind.Scan3D, null);

            case ContentFamily.Opaque:
                return (ImageKind.Unknown, sniff.Error ?? $"{sniff.Format} content cannot be looked inside");

            case ContentFamily.Archive:
            case ContentFamily.Tnef:
            case ContentFamily.Compressed:
            case ContentFamily.Tar:
            case ContentFamily.Pdf:
            case ContentFamily.Rtf:
            case ContentFamily.Message:
                // The container itself; its contents get findings of their own.
                return (IsProprietaryName(fileName) ? ImageKind.ProprietaryImaging : ImageKind.None, null);
        }

        if (IsProprietaryName(fileName)) return (ImageKind.ProprietaryImaging, null);
        if (LooksDeclaredAsImage(fileName, declaredType, out var claim))
            return (ImageKind.Unknown, $"declared as {claim} but the content is not a recognised format ({sniff.Format})");
        return (ImageKind.None, null);
    }

    private ImageKind ClassifyRaster(SniffResult sniff, long size, bool referencedByCid)
    {
        var pixels = sniff.Pixels;
        if (referencedByCid && size <= options.DecorationMaxBytes && pixels is { } small && small <= options.DecorationMaxPixels)
            return ImageKind.Decoration;
        // Unknown dimensions never make an image small: fail towards protecting it.
        if (sniff.Grayscale == true)
            return pixels is null || pixels >= options.RadiographMinPixels ? ImageKind.Radiograph : ImageKind.None;
        return pixels is null || pixels >= options.ClinicalPhotoMinPixels ? ImageKind.ClinicalPhoto : ImageKind.None;
    }

    private static bool LooksDeclaredAsImage(string? fileName, string? declaredType, out string claim)
    {
        claim = "";
        if (declaredType is { } type && (ImageTypes.Contains(type)
            || type.StartsWith("image/", StringComparison.OrdinalIgnoreCase) && !HarmlessImageTypes.Contains(type)))
        {
            claim = type;
            return true;
        }
        var extension = System.IO.Path.GetExtension(fileName);
        if (!string.IsNullOrEmpty(extension) && ImageExtensions.Contains(extension))
        {
            claim = $"a {extension} file";
            return true;
        }
        return false;
    }
}
