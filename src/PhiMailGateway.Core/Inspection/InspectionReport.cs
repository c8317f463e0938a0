namespace PhiMailGateway.Inspection;

/// <summary>
/// One classified part: a MIME leaf, an attachment inside TNEF, an entry inside a zip, or a
/// container itself. File names appear only in <see cref="Path"/>, which is for the dry-run and the
/// pickup page, never for logs.
/// </summary>
public sealed record InspectionFinding
{
    public required ImageKind Kind { get; init; }

    /// <summary>What the bytes are: "DICOM", "JPEG", "PNG", "TIFF", "STL (binary)", "ZIP", "TNEF", "PDF", "Text", "Binary"...</summary>
    public required string Format { get; init; }

    /// <summary>Decoded size in bytes (after base64, decompression or TNEF extraction).</summary>
    public required long Size { get; init; }

    public int? Width { get; init; }
    public int? Height { get; init; }
    public int? Components { get; init; }
    public int? BitDepth { get; init; }

    /// <summary>Human-readable location, e.g. <c>part 2 (winmail.dat) &gt; xray.dcm</c>. May contain file names: dry-run only.</summary>
    public required string Path { get; init; }

    /// <summary>
    /// Index (0-based) of the child of the message's top-level body that contains this finding; 0
    /// when the body is a single part. Removing or encrypting that entity covers the finding.
    /// </summary>
    public required int TopLevelPartIndex { get; init; }

    /// <summary>
    /// Part number (IMAP style, "2" or "1.2", as <c>MimeKit.MimeIterator.PathSpecifier</c> counts) of
    /// the entity of the outer message that contains the finding: the MIME leaf itself, or the
    /// attached message (message/rfc822) it sits in. Protection replaces or encrypts that entity whole.
    /// </summary>
    public required string PartSpecifier { get; init; }

    /// <summary>
    /// The <see cref="PartSpecifier"/> of a finding that no single part holds: content outside every
    /// part (preamble, epilogue) or a structure parsers read differently. Protection then covers the
    /// whole message, because the bytes that matter are not where MimeKit's tree says they are.
    /// </summary>
    public const string WholeMessageSpecifier = "";

    /// <summary>Declared Content-Type of the MIME part; null for zip entries and TNEF attachments, which declare none.</summary>
    public string? DeclaredContentType { get; init; }

    /// <summary>SHA-256 of the decoded content, lower-case hex; null when it could not be read.</summary>
    public string? Sha256 { get; init; }

    /// <summary>The DICOM header when <see cref="Format"/> is DICOM. Patient data: never log it.</summary>
    public DicomHeader? Dicom { get; init; }

    /// <summary>Why this part could not be inspected and therefore counts as a dental image.</summary>
    public string? FailClosedReason { get; init; }

    /// <summary>True when this finding makes the message carry a dental image: a protected kind, or failed closed.</summary>
    public required bool IsProtected { get; init; }
}

/// <summary>What Inspection learned about one message: every part classified. Header facts are in <c>Pipeline.MessageHeaders</c>.</summary>
public sealed record InspectionReport
{
    public required IReadOnlyList<InspectionFinding> Findings { get; init; }

    /// <summary>Any finding of a protected kind (<c>Inspection:ProtectedKinds</c>), or any finding that failed closed.</summary>
    public bool HasDentalImage => Findings.Any(f => f.IsProtected);

    /// <summary>The distinct kinds of the protected findings, in enum order.</summary>
    public IReadOnlyList<ImageKind> Kinds => Findings.Where(f => f.IsProtected).Select(f => f.Kind).Distinct().Order().ToList();

    /// <summary>Findings that failed closed.</summary>
    public IEnumerable<InspectionFinding> FailedClosed => Findings.Where(f => f.FailClosedReason is not null);
}
