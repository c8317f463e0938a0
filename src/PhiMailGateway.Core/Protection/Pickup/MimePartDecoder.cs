using System.Buffers;
using System.Buffers.Text;
using MimeKit;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Decodes an attachment's content for packaging. A base64 part up to <see cref="FastLimit"/> bytes
/// (the usual intra-oral photo or radiograph) is decoded with .NET's vectorised
/// <see cref="Base64.DecodeFromUtf8(ReadOnlySpan{byte}, Span{byte}, out int, out int, bool)"/>,
/// which the benchmark showed several times faster than MimeKit's byte-at-a-time decoder. Anything
/// it does not accept as plain base64 (stray characters, missing padding, data after the padding)
/// is decoded by MimeKit instead, whose lenient rules then decide exactly as before; so do other
/// encodings and larger parts.
/// </summary>
internal static class MimePartDecoder
{
    public const int FastLimit = 4 << 20;

    public static async Task DecodeToAsync(MimePart part, Stream destination, CancellationToken cancellationToken)
    {
        if (part.Content is not { } content) return;
        if (part.ContentTransferEncoding == ContentEncoding.Base64 && content.Stream is { CanSeek: true, Length: <= FastLimit } encoded)
        {
            var length = (int)encoded.Length;
            var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
            try
            {
                encoded.Position = 0;
                await encoded.ReadExactlyAsync(buffer.AsMemory(0, length), cancellationToken);
                var compact = RemoveWhitespace(buffer.AsSpan(0, length));
                if (Base64.DecodeFromUtf8InPlace(buffer.AsSpan(0, compact), out var written) == OperationStatus.Done)
                {
                    await destination.WriteAsync(buffer.AsMemory(0, written), cancellationToken);
                    return;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        await content.DecodeToAsync(destination, cancellationToken);
    }

    /// <summary>Drops CR, LF, space and tab in place (line breaks every 76 characters); returns the new length.</summary>
    internal static int RemoveWhitespace(Span<byte> text)
    {
        var read = text.IndexOfAny("\r\n \t"u8);
        if (read < 0) return text.Length;
        var write = read;
        while (read < text.Length)
        {
            var rest = text[read..];
            var skip = rest.IndexOfAnyExcept("\r\n \t"u8);
            if (skip < 0) break;
            rest = rest[skip..];
            var run = rest.IndexOfAny("\r\n \t"u8);
            if (run < 0) run = rest.Length;
            rest[..run].CopyTo(text[write..]);
            write += run;
            read += skip + run;
        }
        return write;
    }
}
