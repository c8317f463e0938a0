using MimeKit;

namespace PhiMailGateway.Inspection;

// Ambiguous MIME: structures that parsers read differently. MimeKit picks one reading; a recipient's
// client may pick another and find an image where our walk saw none. Each such structure fails
// closed for the whole message (InspectionFinding.WholeMessageSpecifier), because the bytes at
// stake do not sit in any one part of MimeKit's tree that protection could cut out.
public sealed partial class MessageInspector
{
    private static readonly Anchor WholeMessage = new(0, InspectionFinding.WholeMessageSpecifier);

    /// <summary>Preambles longer than this, or with a word this long (an encoded blob), are more than the usual note.</summary>
    private const int MaxPlainPreambleChars = 1024;
    private const int MaxPreambleWordChars = 40;

    private static readonly HashSet<string> IdentityEncodings = new(StringComparer.OrdinalIgnoreCase) { "7bit", "8bit", "binary" };

    /// <summary>Parses with the walk's bounds and records where each entity ends (for closing boundaries).</summary>
    private async Task<MimeMessage> ParseAsync(Walk walk, Stream stream, bool persistent, CancellationToken ct)
    {
        var parserOptions = ParserOptions.Default.Clone();
        // MimeKit turns anything deeper than its limit into an opaque leaf; we see that leaf and fail closed.
        parserOptions.MaxMimeDepth = _options.MaxMimeDepth + 1;
        var parser = new MimeParser(parserOptions, stream, persistent);
        parser.MimeEntityEnd += (_, e) => walk.EntityEnds[e.Entity] = e.EndOffset;
        return await parser.ParseMessageAsync(ct);
    }

    /// <returns>True when the entity must not be walked further (its content is not what it claims).</returns>
    private bool CheckStructure(Walk walk, MimeEntity entity, Anchor here, IReadOnlyList<string> path, string number)
    {
        var where = Append(path, $"part {number}");
        var type = entity.ContentType.MimeType;
        var ambiguous = new List<string>();

        if (Count(entity, HeaderId.ContentType) > 1) ambiguous.Add("more than one Content-Type header");
        if (Count(entity, HeaderId.ContentTransferEncoding) > 1) ambiguous.Add("more than one Content-Transfer-Encoding header");

        var container = entity is Multipart or MessagePart || entity.ContentType.IsMimeType("multipart", "*") || entity.ContentType.IsMimeType("message", "*");
        if (container && entity.Headers[HeaderId.ContentTransferEncoding] is { } encoding && !IdentityEncodings.Contains(encoding.Trim()))
            ambiguous.Add($"Content-Transfer-Encoding {encoding.Trim().ToLowerInvariant()} on a {type} part (RFC 2045 6.4 allows none)");

        if (entity.ContentType.IsMimeType("multipart", "*"))
        {
            if (BoundaryParameters(entity) > 1) ambiguous.Add("more than one boundary parameter");
            if (string.IsNullOrEmpty(entity.ContentType.Boundary)) ambiguous.Add("a multipart without a boundary");
        }
        if (entity is Multipart multipart && !string.IsNullOrEmpty(multipart.Boundary))
        {
            if (!IsPlainPreamble(multipart.Preamble)) ambiguous.Add("content before the first boundary");
            if (!string.IsNullOrWhiteSpace(multipart.Epilogue)) ambiguous.Add("content after the closing boundary");
            if (IsUnclosed(walk, multipart)) ambiguous.Add("a multipart whose closing boundary never comes");
        }

        foreach (var reason in ambiguous)
            walk.Findings.Add(FailClosed(WholeMessage, where, type, $"ambiguous MIME: {reason}"));

        if (entity.ContentType.IsMimeType("message", "partial"))
        {
            walk.Findings.Add(FailClosed(here, where, type, "message/partial: a fragment cannot be read with certainty"));
            return true;
        }
        // MimeKit left a declared container as an opaque leaf because of its encoding: already failed closed above.
        return ambiguous.Count > 0 && entity is MimePart && container;
    }

    private static int Count(MimeEntity entity, HeaderId id)
    {
        var n = 0;
        foreach (var header in entity.Headers)
        {
            if (header.Id == id) n++;
        }
        return n;
    }

    /// <summary>Boundary parameters in the raw Content-Type (MimeKit keeps one); RFC 2231 continuations count once.</summary>
    private static int BoundaryParameters(MimeEntity entity)
    {
        var count = 0;
        foreach (var header in entity.Headers)
        {
            if (header.Id != HeaderId.ContentType) continue;
            var raw = System.Text.Encoding.Latin1.GetString(header.RawValue);
            var quoted = false;
            var start = 0;
            for (var i = 0; i <= raw.Length; i++)
            {
                if (i < raw.Length && raw[i] == '"' && (i == 0 || raw[i - 1] != '\\')) quoted = !quoted;
                if (i < raw.Length && (quoted || raw[i] != ';')) continue;
                var parameter = raw[start..i].Trim();
                start = i + 1;
                var eq = parameter.IndexOf('=');
                if (eq <= 0) continue;
                var name = parameter[..eq].Trim().ToLowerInvariant();
                if (name is "boundary" or "boundary*" or "boundary*0" or "boundary*0*") count++;
            }
        }
        return count;
    }

    private static bool IsPlainPreamble(string? preamble)
    {
        if (string.IsNullOrWhiteSpace(preamble)) return true;
        if (preamble.Length > MaxPlainPreambleChars) return false;
        var word = 0;
        foreach (var c in preamble)
        {
            if (char.IsWhiteSpace(c))
            {
                word = 0;
                continue;
            }
            if (c is < ' ' or > '~' || ++word > MaxPreambleWordChars) return false;
        }
        return true;
    }

    /// <summary>
    /// The closing delimiter (--boundary--) takes at least boundary + 4 bytes after the last child; when
    /// the multipart ends no further than its last child did, the delimiter never came.
    /// </summary>
    private static bool IsUnclosed(Walk walk, Multipart multipart)
    {
        if (multipart.Count == 0) return false; // nothing inside: the preamble check covers any content
        if (!walk.EntityEnds.TryGetValue(multipart, out var end) || !walk.EntityEnds.TryGetValue(multipart[^1], out var lastChildEnd)) return false;
        return end - lastChildEnd < (multipart.Boundary?.Length ?? 0) + 4;
    }
}
