using System.Buffers;
using System.IO.Pipelines;
using System.Text;

namespace PhiMailGateway.Ingress;

/// <summary>What one bounded read of a command line produced.</summary>
internal enum LineStatus
{
    Line,
    TooLong,
    Closed,
}

/// <summary>
/// Reads one command line (ended by LF, an optional CR before it dropped) with a hard bound on its
/// length, so a client that never sends a line end costs at most the bound plus one read buffer:
/// past the bound everything up to the next LF is consumed and thrown away as it arrives
/// (invariant 8). RFC 5321 4.5.3.1.4: 512 bytes per command line including CRLF; RFC 4954: 12,288
/// for an AUTH response line.
/// </summary>
internal static class SmtpLineReader
{
    public const int CommandLineLimit = 512;
    public const int AuthLineLimit = 12_288;

    /// <summary>
    /// A command line: 512 bytes, except a line that starts with "AUTH " (its initial response may be
    /// as long as a continuation line, RFC 4954 4).
    /// </summary>
    public static ValueTask<(LineStatus Status, string Line)> ReadCommandAsync(PipeReader reader, CancellationToken cancellationToken) =>
        ReadAsync(reader, CommandLineLimit, cancellationToken, authMayExtend: true);

    public static async ValueTask<(LineStatus Status, string Line)> ReadAsync(PipeReader reader, int limit, CancellationToken cancellationToken, bool authMayExtend = false)
    {
        var discarding = false;
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            if (result.IsCanceled) throw new OperationCanceledException("read cancelled");
            var buffer = result.Buffer;
            if (authMayExtend && buffer.Length >= 5)
            {
                authMayExtend = false;
                if (StartsWithAuth(buffer)) limit = AuthLineLimit;
            }
            var lf = buffer.PositionOf((byte)'\n');
            if (lf is { } end)
            {
                var lineWithLf = buffer.Slice(0, buffer.GetPosition(1, end));
                if (discarding || lineWithLf.Length > limit)
                {
                    reader.AdvanceTo(lineWithLf.End);
                    return (LineStatus.TooLong, "");
                }
                var line = Decode(buffer.Slice(0, end));
                reader.AdvanceTo(lineWithLf.End);
                return (LineStatus.Line, line);
            }
            if (discarding || buffer.Length >= limit)
            {
                // Nothing of an over-long line is kept: drop what arrived and keep looking for its end.
                discarding = true;
                reader.AdvanceTo(buffer.End);
            }
            else
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
            if (result.IsCompleted) return (LineStatus.Closed, "");
        }
    }

    private static bool StartsWithAuth(ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[5];
        buffer.Slice(0, 5).CopyTo(head);
        return Ascii.EqualsIgnoreCase(head, "AUTH "u8);
    }

    private static string Decode(ReadOnlySequence<byte> line)
    {
        if (!line.IsEmpty && line.Slice(line.Length - 1).FirstSpan[0] == (byte)'\r') line = line.Slice(0, line.Length - 1);
        // UTF-8 so that a U-label domain can be converted and a non-ASCII local part recognised and refused.
        return Encoding.UTF8.GetString(line);
    }
}
