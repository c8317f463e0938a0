using System.Buffers.Binary;
using System.Text;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Recognises a part by its bytes: reads headers only (never decodes pixels), from a bounded prefix
/// (<see cref="PrefixBytes"/>) plus the total length. Order matters only where formats could
/// overlap; every check is anchored at offset 0 except DICOM's preamble marker at 128.
/// </summary>
public static class ContentSniffer
{
    /// <summary>How much of each part is kept in memory for sniffing; the rest is only hashed.</summary>
    public const int PrefixBytes = DicomHeaderReader.MaxScanBytes;

    private const uint TnefSignature = 0x223E9F78;

    /// <summary>Zip local header, empty-archive end record, or spanned-archive marker.</summary>
    public static bool IsZip(ReadOnlySpan<byte> p) =>
        p.Length >= 4 && p[0] == 'P' && p[1] == 'K' && (p[2], p[3]) is (3, 4) or (5, 6) or (7, 8);

    public static bool IsTnef(ReadOnlySpan<byte> p) => p.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(p) == TnefSignature;

    /// <param name="prefix">The first bytes of the part (all of it when shorter than <see cref="PrefixBytes"/>).</param>
    /// <param name="totalLength">The part's full decoded length.</param>
    public static SniffResult Sniff(ReadOnlySpan<byte> prefix, long totalLength)
    {
        var p = prefix;
        var more = totalLength > p.Length;
        if (DicomHeaderReader.Read(p, more) is { } dicom)
        {
            return new SniffResult
            {
                Family = ContentFamily.Dicom, Format = "DICOM", Dicom = dicom,
                Width = dicom.Tags.Columns, Height = dicom.Tags.Rows, Components = dicom.Tags.SamplesPerPixel, BitDepth = dicom.Tags.BitsAllocated,
                Grayscale = dicom.Tags.SamplesPerPixel is { } s ? s == 1 : null,
            };
        }
        if (p.Length >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return RasterHeaders.Jpeg(p);
        if (p.StartsWith((ReadOnlySpan<byte>)[0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A])) return RasterHeaders.Png(p);
        if (p.StartsWith("II*\0"u8) || p.StartsWith("MM\0*"u8)) return RasterHeaders.Tiff(p);
        if (p.StartsWith("II+\0"u8) || p.StartsWith("MM\0+"u8)) return RasterHeaders.Broken("TIFF", "BigTIFF headers are not read");
        if (p.StartsWith((ReadOnlySpan<byte>)[0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A])) return RasterHeaders.Jp2(p);
        if (p.StartsWith((ReadOnlySpan<byte>)[0xFF, 0x4F, 0xFF, 0x51])) return RasterHeaders.J2kCodestream(p);
        if (p.StartsWith("BM"u8) && p.Length >= 18 && BinaryPrimitives.ReadUInt32LittleEndian(p[14..]) is 12 or 40 or 52 or 56 or 64 or 108 or 124) return RasterHeaders.Bmp(p);
        if (p.StartsWith("GIF87a"u8) || p.StartsWith("GIF89a"u8)) return RasterHeaders.Gif(p);
        if (p.Length >= 12 && p.StartsWith("RIFF"u8) && p[8..12].SequenceEqual("WEBP"u8)) return RasterHeaders.WebP(p);
        if (p.Length >= 12 && p[4..8].SequenceEqual("ftyp"u8) && RasterHeaders.HeifBrand(p[8..12]) is { } brand) return RasterHeaders.Heif(p, brand);
        if (IsZip(p)) return new SniffResult { Family = ContentFamily.Archive, Format = "ZIP" };
        if (IsTnef(p)) return new SniffResult { Family = ContentFamily.Tnef, Format = "TNEF" };
        if (Containers.ContainerSignatures.Sniff(p) is { } container) return container;
        if (MeshHeaders.Sniff(p, totalLength) is { } mesh) return mesh;
        if (MessageHeaderSniffer.LooksLikeMessage(p)) return new SniffResult { Family = ContentFamily.Message, Format = "Message" };
        return SniffResult.Other(LooksLikeText(p) ? "Text" : "Binary");
    }

    internal static bool LooksLikeText(ReadOnlySpan<byte> p)
    {
        var sample = p[..Math.Min(p.Length, 4096)];
        foreach (var b in sample)
        {
            if (b == 0 || b < 0x09 || b is > 0x0D and < 0x20 && b != 0x1B) return false;
        }
        return true;
    }

    internal static string Ascii(ReadOnlySpan<byte> p) => Encoding.Latin1.GetString(p);
}
