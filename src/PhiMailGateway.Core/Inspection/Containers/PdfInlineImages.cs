namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Inline images in decoded content streams ("BI /W 640 /H 480 /CS /G /BPC 8 ID ...pixels... EI"):
/// images that are no object of their own. Only their dictionaries are read; the caller judges
/// each by its declared size like an image XObject.
/// </summary>
internal static class PdfInlineImages
{
    public static List<(Dictionary<string, object?> Dictionary, int DataLength)> Find(ReadOnlySpan<byte> d)
    {
        var found = new List<(Dictionary<string, object?>, int)>();
        for (var pos = 0; pos < d.Length;)
        {
            var at = d[pos..].IndexOf("BI"u8);
            if (at < 0) break;
            at += pos;
            pos = at + 2;
            if (at > 0 && PdfSyntax.IsRegular(d[at - 1]) || pos < d.Length && PdfSyntax.IsRegular(d[pos])) continue;
            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
            var i = pos;
            try
            {
                while (true)
                {
                    i = PdfSyntax.SkipWhite(d, i);
                    if (i + 2 <= d.Length && d[i..].StartsWith("ID"u8) && (i + 2 == d.Length || !PdfSyntax.IsRegular(d[i + 2]))) break;
                    if (i >= d.Length || d[i] != '/') throw new FormatException("inline image key is not a name");
                    var key = PdfSyntax.ReadName(d, ref i).Value;
                    dict[key] = PdfSyntax.ReadValue(d, ref i);
                }
            }
            catch (FormatException)
            {
                // Not an inline image after all ("BI" inside font or pixel data).
                continue;
            }
            var start = Math.Min(d.Length, i + 3);
            var end = d[start..].IndexOf("EI"u8);
            var length = end < 0 ? d.Length - start : end;
            found.Add((dict, length));
            pos = start + length;
        }
        return found;
    }
}
