namespace PhiMailGateway.Inspection;

/// <summary>
/// Section <c>Inspection</c>: what counts as a dental image, and the bounds that keep a hostile
/// message from exhausting memory or time. Anything past a bound fails closed (counts as a dental
/// image), so tightening a bound can only protect more, never less.
/// </summary>
public sealed record InspectionOptions
{
    public const string Section = "Inspection";

    /// <summary>
    /// Image kinds that count as dental images (names of <see cref="ImageKind"/>). Null means the
    /// default, all but <see cref="ImageKind.Decoration"/>. Kept nullable on purpose: the
    /// configuration binder appends to a non-empty default array instead of replacing it, so a
    /// default list here would make it impossible to configure a shorter one.
    /// </summary>
    public string[]? ProtectedKinds { get; init; }

    /// <summary>
    /// Grayscale rasters with at least this many pixels are radiographs. 40,000 = 200x200: the
    /// smallest intraoral sensor (size 0) images at about 600x900 and even downscaled previews
    /// stay above 200 px a side, while icons, bullets and spacer images stay below.
    /// </summary>
    public long RadiographMinPixels { get; init; } = 40_000;

    /// <summary>
    /// Colour rasters with at least this many pixels are clinical photos. 40,000 = 200x200: below
    /// that an image is an icon or logo; a face or intraoral photo is recognisable above it, so we
    /// err towards protecting.
    /// </summary>
    public long ClinicalPhotoMinPixels { get; init; } = 40_000;

    /// <summary>An inline (cid-referenced) image at or under this size may be a decoration: 20 KiB fits a signature logo.</summary>
    public long DecorationMaxBytes { get; init; } = 20 * 1024;

    /// <summary>An inline image at or under this many pixels may be a decoration: 40,000 = 200x200, a logo or social icon.</summary>
    public long DecorationMaxPixels { get; init; } = 40_000;

    /// <summary>
    /// File extensions (with the dot, case-insensitive) of dental imaging programs whose content we
    /// cannot recognise by bytes. Null means <see cref="DefaultProprietaryExtensions"/> (nullable for
    /// the same binder reason as <see cref="ProtectedKinds"/>).
    /// </summary>
    public string[]? ProprietaryExtensions { get; init; }

    /// <summary>Zip inside zip inside zip: deeper nesting fails closed.</summary>
    public int MaxArchiveDepth { get; init; } = 3;

    /// <summary>Entries across all archives of one attachment; checked from the central directory before anything is opened.</summary>
    public int MaxArchiveEntries { get; init; } = 1000;

    /// <summary>Uncompressed bytes across all archives of one attachment, counted as read (headers can lie).</summary>
    public long MaxTotalUncompressedBytes { get; init; } = 1L << 30;

    /// <summary>Uncompressed / compressed size of one entry; higher is treated as a zip bomb. Not applied to entries under 4 KiB.</summary>
    public int MaxCompressionRatio { get; init; } = 100;

    /// <summary>Nesting of multiparts and attached messages; deeper fails closed.</summary>
    public int MaxMimeDepth { get; init; } = 32;

    /// <summary>
    /// A PDF or RTF is read into memory to find its objects, and one decoded PDF stream is held
    /// there while it is sniffed; larger files or streams fail closed. 64 MiB is above the default
    /// message size limit, so only a document out of a larger archive meets it.
    /// </summary>
    public long MaxDocumentBytes { get; init; } = 64L << 20;

    /// <summary>Objects in one PDF (a 300-page letter has a few thousand); more fails closed.</summary>
    public int MaxPdfObjects { get; init; } = 100_000;

    /// <summary>
    /// Items hidden in the text of one message (data: URIs, uuencode, begin-base64 and yEnc blocks),
    /// all parts together. Each is decoded and inspected like an attachment; past this count the rest
    /// cannot be looked at and the message fails closed. 100 is far above what a practice's mail holds
    /// (a newsletter may inline a few dozen icons) and keeps a hostile message's work bounded.
    /// </summary>
    public int MaxEmbeddedItems { get; init; } = 100;

    /// <summary>
    /// Decoded bytes of one embedded item, held in memory while it is inspected; a bigger one fails
    /// closed. 32 MiB holds any radiograph or intra-oral photo pasted into a body.
    /// </summary>
    public long MaxEmbeddedItemBytes { get; init; } = 32L << 20;

    /// <summary>
    /// Extensions of dental imaging programs. Only formats we could tie to a product are listed;
    /// extensions that collide with common non-dental formats are left out, because a false match
    /// there would protect unrelated mail (.dex is also an Android executable, .cdr CorelDRAW,
    /// CEREC's .con/.lab/.cam are generic). DICOM (.dcm) and 3Shape's HPS (.dcm too) are recognised
    /// by content and need no entry.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultProprietaryExtensions =
    [
        ".rvg",            // Trophy / Carestream RVG (RadioVisioGraphy) intraoral sensor images.
        ".rst",            // Dentsply Sirona CEREC chairside case (scan and restoration).
        ".rstimg",         // CEREC chairside imaging file (Omnicam).
        ".cdt",            // CEREC / inLab 3.8 and earlier case file.
        ".dxd",            // CEREC / inLab model exchange file (scan data between Connect, chairside and inLab).
        ".ilab",           // Dentsply Sirona infiniDent lab case.
        ".3oxz",           // 3Shape TRIOS order export (a zip of HPS scans with patient data); also walked as a zip.
        ".dentalproject",  // exocad DentalCAD project: patient, teeth and scan references.
        ".inv",            // Anatomage Invivo case file: CBCT volume plus patient data.
    ];

    /// <summary>The protected kinds in force; <see cref="ImageKind.Unknown"/> is always protected.</summary>
    public IReadOnlySet<ImageKind> EffectiveProtectedKinds
    {
        get
        {
            var kinds = ProtectedKinds is null
                ? Enum.GetValues<ImageKind>().Where(k => k is not (ImageKind.None or ImageKind.Decoration)).ToHashSet()
                : ProtectedKinds.Select(k => Enum.TryParse<ImageKind>(k, ignoreCase: true, out var kind) ? kind : ImageKind.None)
                    .Where(k => k != ImageKind.None).ToHashSet();
            kinds.Add(ImageKind.Unknown);
            return kinds;
        }
    }

    /// <summary>The proprietary extensions in force, lower case with a leading dot.</summary>
    public IReadOnlySet<string> EffectiveProprietaryExtensions =>
        (ProprietaryExtensions ?? DefaultProprietaryExtensions)
            .Select(e => e.Trim().ToLowerInvariant())
            .Where(e => e.Length > 1)
            .Select(e => e.StartsWith('.') ? e : "." + e)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
}
