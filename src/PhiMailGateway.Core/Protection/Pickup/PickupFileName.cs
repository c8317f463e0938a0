using System.Globalization;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The name a recipient sees and saves a pickup file under. Bidirectional controls (U+202A..E,
/// U+2066..9, U+200E/F, U+061C) and every other format or control character are removed, not
/// replaced: a right-to-left override makes <c>invoice\u202Egpj.exe</c> read as "invoiceexe.jpg"
/// on the page and in the browser's save dialog, while it is an executable. Folder separators and
/// characters Windows refuses become '_', leading dots go (no hidden or relative names), and a
/// name with nothing left falls back to <c>file-N</c>.
/// </summary>
public static class PickupFileName
{
    public const int MaxLength = 120;

    /// <param name="name">The sender's name, as declared in the MIME part (or stored in a package made before this rule).</param>
    /// <param name="n">1-based number of the file, for the fallback name.</param>
    /// <param name="extension">Extension of the fallback name, with its dot (".jpg"), or empty.</param>
    public static string Safe(string? name, int n, string extension)
    {
        var cleaned = new StringBuilder((name ?? "").Length);
        foreach (var rune in (name ?? "").EnumerateRunes())
        {
            if (IsInvisible(rune)) continue;
            cleaned.Append(rune.Value is '/' or '\\' or ':' or '"' or '*' or '?' or '<' or '>' or '|' ? "_" : rune.ToString());
        }
        var result = cleaned.ToString().Trim().TrimStart('.').Trim();
        if (result.Length == 0) result = $"file-{n}{extension}";
        if (result.Length > MaxLength)
        {
            var ext = Path.GetExtension(result);
            var keep = ext.Length <= 10 ? ext : "";
            var head = result[..(MaxLength - keep.Length)];
            // Never cut a surrogate pair in half: that would leave a lone surrogate in the header.
            if (char.IsHighSurrogate(head[^1])) head = head[..^1];
            result = head + keep;
        }
        return result;
    }

    /// <summary>
    /// Format (Cf: bidi controls, zero-width characters, BOM), control (Cc), line and paragraph
    /// separators, and what a lone surrogate decodes to (U+FFFD).
    /// </summary>
    private static bool IsInvisible(Rune rune) =>
        rune == Rune.ReplacementChar
        || Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.Control
            or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
