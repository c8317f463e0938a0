using System.Buffers.Binary;
using System.Globalization;

namespace PhiMailGateway.Inspection;

/// <summary>
/// 3D surface scans from intraoral and model scanners: STL (binary and ASCII), PLY, OBJ, and
/// 3Shape's HPS. The text formats are matched strictly so that ordinary text never looks like a scan.
/// </summary>
internal static class MeshHeaders
{
    public static SniffResult? Sniff(ReadOnlySpan<byte> p, long totalLength)
    {
        // Binary STL: an 80-byte header (which may itself start with "solid"), a triangle count and
        // exactly 50 bytes per triangle. The length check is what makes this a reliable signature.
        if (totalLength >= 84 && p.Length >= 84)
        {
            var triangles = BinaryPrimitives.ReadUInt32LittleEndian(p[80..]);
            if (triangles > 0 && 84 + 50L * triangles == totalLength) return Mesh("STL (binary)");
        }
        if (p.StartsWith("ply\n"u8) || p.StartsWith("ply\r\n"u8))
        {
            // The header is text up to end_header; binary PLY continues with raw data after it.
            var header = ContentSniffer.Ascii(p[..Math.Min(p.Length, 4096)]);
            if (header.Contains("\nformat ", StringComparison.Ordinal) && header.Contains("end_header", StringComparison.Ordinal)) return Mesh("PLY");
        }
        if (!ContentSniffer.LooksLikeText(p)) return null;
        var text = ContentSniffer.Ascii(p[..Math.Min(p.Length, 64 * 1024)]);
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith("solid", StringComparison.Ordinal)
            && trimmed.Contains("facet", StringComparison.Ordinal) && trimmed.Contains("vertex", StringComparison.Ordinal))
            return Mesh("STL (ASCII)");
        var head = text[..Math.Min(text.Length, 4096)];
        if (head.Contains("<HPS", StringComparison.Ordinal)) return Mesh("3Shape HPS");
        return LooksLikeObj(text) ? Mesh("OBJ") : null;
    }

    private static SniffResult Mesh(string format) => new() { Family = ContentFamily.Mesh, Format = format };

    /// <summary>
    /// Wavefront OBJ: at least three "v x y z" vertex lines with numbers, and every meaningful line
    /// among the first 200 is an OBJ statement. Plain prose fails the second test at once.
    /// </summary>
    private static bool LooksLikeObj(string text)
    {
        var vertices = 0;
        var lines = 0;
        foreach (var raw in text.Split('\n', 201))
        {
            if (++lines > 200) break;
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            switch (parts[0])
            {
                case "v":
                    if (parts.Length is < 4 or > 7 || !parts.Skip(1).All(IsNumber)) return false;
                    vertices++;
                    break;
                case "vn" or "vt" or "vp":
                    if (parts.Length < 2 || !parts.Skip(1).All(IsNumber)) return false;
                    break;
                case "f" or "l" or "p" or "o" or "g" or "s" or "mtllib" or "usemtl":
                    break;
                default:
                    return false;
            }
        }
        return vertices >= 3;
    }

    private static bool IsNumber(string s) => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
}
