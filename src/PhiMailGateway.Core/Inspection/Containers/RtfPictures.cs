namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Finds the pictures of an RTF document (\pict groups with \pngblip or \jpegblip hex data) and
/// says why the rest cannot be inspected: embedded objects, binary runs, other picture formats.
/// Reads the group structure with a depth counter only (no recursion).
/// </summary>
internal static class RtfPictures
{
    private static readonly HashSet<string> Decoded = new(StringComparer.Ordinal) { "pngblip", "jpegblip" };

    /// <param name="failure">Why some content was not inspected (it then fails closed), or null.</param>
    public static List<byte[]> Find(ReadOnlySpan<byte> rtf, out string? failure)
    {
        failure = null;
        var pictures = new List<byte[]>();
        for (var i = 0; i < rtf.Length; i++)
        {
            if (rtf[i] != '\\') continue;
            var word = ControlWord(rtf, i + 1, out var next);
            switch (word)
            {
                case "objdata" or "objemb" or "objlink":
                    failure ??= "RTF with an embedded object: its content is not decoded";
                    break;
                case "bin":
                    failure ??= "RTF with binary data (\\bin): not decoded";
                    break;
                case "pict":
                    var (picture, pictureFailure) = ReadPicture(rtf, next, out next);
                    if (pictureFailure is not null) failure ??= pictureFailure;
                    else if (picture is not null) pictures.Add(picture);
                    break;
            }
            if (word.Length > 0) i = next - 1;
        }
        return pictures;
    }

    private static string ControlWord(ReadOnlySpan<byte> rtf, int start, out int next)
    {
        var end = start;
        while (end < rtf.Length && char.IsAsciiLetter((char)rtf[end])) end++;
        var word = System.Text.Encoding.ASCII.GetString(rtf[start..end]);
        if (end < rtf.Length && rtf[end] == '-') end++;
        while (end < rtf.Length && char.IsAsciiDigit((char)rtf[end])) end++;
        if (end < rtf.Length && rtf[end] == ' ') end++;
        next = end;
        return word;
    }

    private static (byte[]? Picture, string? Failure) ReadPicture(ReadOnlySpan<byte> rtf, int i, out int next)
    {
        string? format = null;
        var hex = new List<byte>();
        int? high = null;
        var nested = 0;
        for (; i < rtf.Length; i++)
        {
            var b = rtf[i];
            if (b == '{') { nested++; continue; }
            if (b == '}')
            {
                if (nested-- == 0) break;
                continue;
            }
            if (b == '\\')
            {
                var word = ControlWord(rtf, i + 1, out var after);
                if (word == "bin") { next = after; return (null, "RTF picture with binary data (\\bin): not decoded"); }
                if (nested == 0 && word is "pngblip" or "jpegblip" or "emfblip" or "wmetafile" or "dibitmap" or "wbitmap" or "macpict" or "pmmetafile") format = word;
                if (word.Length > 0) i = after - 1;
                else i++;
                continue;
            }
            if (nested > 0 || b is (byte)' ' or (byte)'\r' or (byte)'\n' or (byte)'\t') continue;
            var v = b switch
            {
                >= (byte)'0' and <= (byte)'9' => b - '0',
                >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
                >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
                _ => -1,
            };
            if (v < 0) { next = i; return (null, "RTF picture data is not hex"); }
            if (high is { } h) { hex.Add((byte)(h << 4 | v)); high = null; }
            else high = v;
        }
        next = i;
        if (hex.Count == 0) return (null, null);
        if (format is null || !Decoded.Contains(format)) return (null, $"RTF picture in a format that is not read ({format ?? "none declared"})");
        return ([.. hex], null);
    }
}
