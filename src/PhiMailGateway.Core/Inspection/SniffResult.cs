namespace PhiMailGateway.Inspection;

/// <summary>Broad families of content; the classifier turns a family plus its facts into an <see cref="ImageKind"/>.</summary>
public enum ContentFamily
{
    /// <summary>Nothing we recognise (text, other binaries).</summary>
    Other,
    Dicom,
    Raster,
    Mesh,
    Archive,
    Tnef,

    /// <summary>One compressed stream (gzip, bzip2, xz, zstd, lzip): its content is inspected as an item.</summary>
    Compressed,

    /// <summary>A tar archive (ustar, GNU, pax).</summary>
    Tar,

    /// <summary>A PDF: its image objects, embedded files and other streams are inspected.</summary>
    Pdf,

    /// <summary>RTF: its pictures and embedded objects are inspected.</summary>
    Rtf,

    /// <summary>A container we recognise but do not open (7z, rar, OLE2 compound files, cab): fails closed.</summary>
    Opaque,

    /// <summary>An RFC 5322 message whatever its declared type (a forwarded .eml): walked like message/rfc822.</summary>
    Message,
}

/// <summary>
/// What the bytes of one part say, from its header alone. <see cref="Error"/> is set when a format's
/// signature matched but its header could not be read: such a part fails closed.
/// </summary>
public sealed record SniffResult
{
    public required ContentFamily Family { get; init; }

    /// <summary>Short format name for reports: "JPEG", "DICOM", "STL (binary)", "ZIP", "PDF", "Text", "Binary".</summary>
    public required string Format { get; init; }

    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Components { get; init; }
    public int? BitDepth { get; init; }

    /// <summary>True when the raster holds one channel of intensity (or a palette of grays).</summary>
    public bool? Grayscale { get; init; }

    public DicomHeader? Dicom { get; init; }
    public string? Error { get; init; }

    public long? Pixels => Width is { } w && Height is { } h && w > 0 && h > 0 ? (long)w * h : null;

    public static SniffResult Other(string format) => new() { Family = ContentFamily.Other, Format = format };
}
