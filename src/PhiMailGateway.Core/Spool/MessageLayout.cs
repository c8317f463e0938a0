using System.Buffers;

namespace PhiMailGateway.Spool;

/// <summary>Where a queued message's header block ends, read from its bytes (the S/MIME stage and the relay both need it).</summary>
public static class MessageLayout
{
    /// <summary>Where the body starts: after the first empty line (CRLF CRLF), relative to the stream's position; null when there is none.</summary>
    public static async Task<long?> FindBodyOffsetAsync(Stream message, CancellationToken cancellationToken)
    {
        // Header blocks are a few KiB; read in pooled 16 KiB steps (this runs for every relayed copy).
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            long consumed = 0;
            var kept = 0;
            while (true)
            {
                var read = await message.ReadAsync(buffer.AsMemory(kept), cancellationToken);
                if (read == 0) return null;
                var window = buffer.AsSpan(0, kept + read);
                if (consumed == 0 && window.StartsWith("\r\n"u8)) return 2; // no headers at all
                var at = window.IndexOf("\r\n\r\n"u8);
                if (at >= 0) return consumed + at + 4;
                // Keep the last three bytes: the empty line may straddle two reads.
                var keep = Math.Min(3, window.Length);
                consumed += window.Length - keep;
                window[^keep..].CopyTo(buffer);
                kept = keep;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
