using System.Buffers;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Says whether a base64 part decodes cleanly: only the alphabet and whitespace, padding only at
/// the very end. MimeKit skips what it does not understand and goes on past padding, so its output
/// and another reader's differ on such content; an image can hide in that difference, so such a
/// part is Unknown. Run only after the fast strict decoder refused a part (the usual part never
/// pays for it); it streams, so a large part is not loaded.
/// </summary>
internal static class Base64Validator
{
    private const int ChunkBytes = 64 * 1024;

    /// <returns>Null when the content is clean base64, else what is wrong with it.</returns>
    public static string? FindDefect(Stream encoded)
    {
        var decoder = new StrictBase64();
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            long offset = 0;
            int read;
            while ((read = encoded.Read(buffer, 0, ChunkBytes)) > 0)
            {
                for (var i = 0; i < read; i++)
                {
                    var c = buffer[i];
                    if (c is (byte)'\r' or (byte)'\n' or (byte)' ' or (byte)'\t') continue;
                    if (decoder.Add(c, out _, out _) is { } defect) return $"base64 content does not decode cleanly: {defect} at byte {offset + i}";
                }
                offset += read;
            }
            return decoder.Finish(out _, out _) is { } tail ? $"base64 content does not decode cleanly: {tail}" : null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Content that cannot be decoded with certainty; the message names why.</summary>
internal sealed class UndecodableContentException(string reason) : IOException(reason);
