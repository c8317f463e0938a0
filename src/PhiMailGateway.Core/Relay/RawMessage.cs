using MimeKit;
using MimeKit.IO;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Relay;

/// <summary>
/// Loads a queued copy that is one part (no multipart, no attached message; every S/MIME copy, most
/// plain-text mail) without MimeKit scanning its body: only the header block is parsed, and the
/// part's content is then the rest of the file as it lies there. A full parse scans every line of
/// the body for boundaries it cannot contain (7 MB for the S/MIME copy of a panoramic X-ray), only
/// for the body to be written out unchanged. The result is the MimeMessage the full parse gives,
/// so MailKit chooses its SMTP extensions from the real transfer encoding and writes the same bytes
/// (base64 content raw, through <see cref="RawMimePart"/>).
/// </summary>
internal static class RawMessage
{
    // Large parts are copied from the queued file as they are (see RawMimePart).
    private static readonly ParserOptions RawParts = RawMimePart.CreateParserOptions();

    /// <summary>
    /// A queued copy as MailKit sends it: one part through <see cref="TryLoadAsync"/>, anything else
    /// parsed persistent, so that parts stay backed by the file instead of being copied into memory.
    /// </summary>
    public static async Task<MimeMessage> LoadForRelayAsync(Stream content, CancellationToken cancellationToken) =>
        await TryLoadAsync(RawParts, content, cancellationToken)
        ?? await MimeMessage.LoadAsync(RawParts, content, persistent: content.CanSeek, cancellationToken);

    /// <summary>The message at <paramref name="content"/>'s position when it is one part; otherwise null, with the position unchanged.</summary>
    public static async Task<MimeMessage?> TryLoadAsync(ParserOptions options, Stream content, CancellationToken cancellationToken)
    {
        if (!content.CanSeek) return null;
        var start = content.Position;
        var bodyOffset = await MessageLayout.FindBodyOffsetAsync(content, cancellationToken);
        content.Position = start;
        if (bodyOffset is null) return null;
        var bodyStart = start + bodyOffset.Value;

        MimeMessage headersOnly;
        await using (var head = new BoundStream(content, start, bodyStart, leaveOpen: true))
            headersOnly = await MimeMessage.LoadAsync(options, head, persistent: true, cancellationToken);
        if (headersOnly.Body is not MimePart part)
        {
            headersOnly.Dispose();
            content.Position = start;
            return null;
        }
        var encoding = part.ContentTransferEncoding == ContentEncoding.Default ? ContentEncoding.SevenBit : part.ContentTransferEncoding;
        part.Content = new MimeContent(new BoundStream(content, bodyStart, content.Length, leaveOpen: true), encoding);
        return headersOnly;
    }
}
