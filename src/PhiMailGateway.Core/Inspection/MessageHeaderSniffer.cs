namespace PhiMailGateway.Inspection;

/// <summary>
/// Recognises an RFC 5322 message by its first bytes, whatever the part claims to be: header fields
/// from the very first byte (continuation lines allowed) up to the blank line that ends them, or to
/// the end of the prefix, with at least one field that only a message carries. A forwarded mail
/// saved as fwd.eml and sent as application/octet-stream holds attachments of its own, so it must be
/// walked like message/rfc822 or its images pass unseen.
/// </summary>
internal static class MessageHeaderSniffer
{
    private static readonly string[] MessageFields = ["from", "to", "subject", "received", "mime-version", "content-type", "message-id"];

    /// <summary>Header lines longer than this are not mail headers (RFC 5322 allows 998).</summary>
    private const int MaxLineBytes = 998;

    public static bool LooksLikeMessage(ReadOnlySpan<byte> prefix)
    {
        var rest = prefix;
        var lines = 0;
        var known = false;
        while (rest.Length > 0)
        {
            var end = rest.IndexOf((byte)'\n');
            if (end < 0)
            {
                // The prefix ends inside the header block: judge by what came before.
                return lines > 0 && known && rest.Length <= MaxLineBytes;
            }
            var line = rest[..end];
            if (line.EndsWith("\r"u8)) line = line[..^1];
            rest = rest[(end + 1)..];
            if (line.Length == 0) return lines > 0 && known;
            if (line.Length > MaxLineBytes) return false;
            if (line[0] is (byte)' ' or (byte)'\t')
            {
                if (lines == 0) return false;
                continue;
            }
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) return false;
            var name = line[..colon];
            foreach (var c in name)
            {
                if (c is <= 32 or >= 127) return false;
            }
            lines++;
            if (!known)
            {
                foreach (var field in MessageFields)
                {
                    if (name.Length == field.Length && System.Text.Ascii.EqualsIgnoreCase(name, field)) known = true;
                }
            }
        }
        return lines > 0 && known;
    }
}
