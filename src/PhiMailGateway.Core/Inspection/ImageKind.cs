namespace PhiMailGateway.Inspection;

/// <summary>
/// What a part of a message is, as far as HIPAA and the routing rules care. Decided by the bytes,
/// never by the file name or declared type (those can only make a verdict stricter).
/// </summary>
public enum ImageKind
{
    /// <summary>
    /// Not a dental image: text, documents, containers themselves (zip, TNEF), and rasters below
    /// the clinical size thresholds that are not inline decorations. Never protected.
    /// </summary>
    None,

    /// <summary>DICOM, Part 10 (with the <c>DICM</c> marker) or raw without preamble.</summary>
    Dicom,

    /// <summary>A grayscale raster (JPEG, PNG, TIFF, JPEG 2000, BMP, GIF) above <c>Inspection:RadiographMinPixels</c>.</summary>
    Radiograph,

    /// <summary>A colour raster (including WebP and HEIC) above <c>Inspection:ClinicalPhotoMinPixels</c>.</summary>
    ClinicalPhoto,

    /// <summary>A 3D surface scan: STL (binary or ASCII), PLY, OBJ, 3Shape HPS.</summary>
    Scan3D,

    /// <summary>A file of a dental imaging program, known only by its extension (<c>Inspection:ProprietaryExtensions</c>).</summary>
    ProprietaryImaging,

    /// <summary>A small inline image referenced from the HTML body by cid, such as a signature logo.</summary>
    Decoration,

    /// <summary>
    /// Could not be inspected (broken image header, encrypted or oversized archive, nesting past
    /// the bound, damaged TNEF, unparseable message). Fail closed: always counts as a dental image,
    /// whatever <c>Inspection:ProtectedKinds</c> says; the finding's <c>FailClosedReason</c> says why.
    /// </summary>
    Unknown,
}
