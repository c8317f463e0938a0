using System.Buffers;
using System.Text;
using System.Text.Json;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Spool;

/// <summary>
/// One accepted message on disk: a magic line, the envelope as one line of JSON, then the message
/// bytes exactly as they will be relayed (our Received header first). Envelope and message sit in
/// one file so that the rename into <c>incoming/</c> commits both at once.
/// </summary>
public static class SpoolFile
{
    private const string Magic = "PHIMAIL-SPOOL 1";
    private const int MaxHeaderBytes = 1 << 20;

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>Writes envelope and message; returns where the message starts and how long it is, so nobody has to read the file back.</summary>
    public static async Task<(long MessageOffset, long MessageLength)> WriteAsync(Stream destination, Envelope envelope, ReadOnlyMemory<byte> receivedHeader, ReadOnlySequence<byte> message, CancellationToken cancellationToken)
    {
        var fileStart = destination.Position;
        var header = Encoding.UTF8.GetBytes(Magic + "\r\n" + JsonSerializer.Serialize(envelope, Json) + "\r\n");
        await destination.WriteAsync(header, cancellationToken);
        var messageOffset = destination.Position - fileStart;
        await destination.WriteAsync(receivedHeader, cancellationToken);
        var previous = (byte)'\n';
        var chunk = ArrayPool<byte>.Shared.Rent(128 * 1024);
        try
        {
            foreach (var segment in message)
            {
                for (var start = 0; start < segment.Length;)
                {
                    var take = Math.Min(segment.Length - start, 64 * 1024);
                    var written = NormalizeLineEnds(segment.Span.Slice(start, take), chunk, ref previous);
                    await destination.WriteAsync(chunk.AsMemory(0, written), cancellationToken);
                    start += take;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
        // A caller may hand over the message without the CRLF that precedes the final dot; that CRLF
        // ends the message's last line and belongs to it (RFC 5321 4.1.1.4), so put it back.
        if (previous != '\n') await destination.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        return (messageOffset, destination.Position - fileStart - messageOffset);
    }

    /// <summary>
    /// A bare LF becomes CRLF (Postfix's smtpd_forbid_bare_newline=normalize). Only CRLF.CRLF ends
    /// DATA, so a smuggled LF.LF never splits a message here; normalising it keeps it from being
    /// read as an end of data by a laxer server further on, where it is then dot-stuffed as a line.
    /// </summary>
    private static int NormalizeLineEnds(ReadOnlySpan<byte> input, byte[] output, ref byte previous)
    {
        // Runs between line feeds are copied whole (IndexOf is vectorised); only at a bare LF is a CR added.
        if (input.IsEmpty) return 0;
        var n = 0;
        var last = previous;
        while (!input.IsEmpty)
        {
            var lf = input.IndexOf((byte)'\n');
            if (lf < 0)
            {
                input.CopyTo(output.AsSpan(n));
                n += input.Length;
                last = input[^1];
                break;
            }
            input[..lf].CopyTo(output.AsSpan(n));
            n += lf;
            var before = lf > 0 ? input[lf - 1] : last;
            if (before != '\r') output[n++] = (byte)'\r';
            output[n++] = (byte)'\n';
            last = (byte)'\n';
            input = input[(lf + 1)..];
        }
        previous = last;
        return n;
    }

    /// <summary>Reads the envelope and finds where the message starts. Throws <see cref="InvalidDataException"/> for anything not written by us.</summary>
    public static SpoolEntry Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096);
        // The envelope is usually a few hundred bytes: read 16 KiB, more only for long recipient lists.
        var buffer = new byte[(int)Math.Min(16 * 1024, stream.Length)];
        var read = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        while (buffer.AsSpan(0, read).Count("\r\n"u8) < 2 && read == buffer.Length && buffer.Length < MaxHeaderBytes && read < stream.Length)
        {
            Array.Resize(ref buffer, (int)Math.Min(Math.Min(buffer.Length * 4L, MaxHeaderBytes), stream.Length));
            read += stream.ReadAtLeast(buffer.AsSpan(read), buffer.Length - read, throwOnEndOfStream: false);
        }
        var span = buffer.AsSpan(0, read);

        var first = span.IndexOf("\r\n"u8);
        if (first < 0 || !span[..first].SequenceEqual(Encoding.ASCII.GetBytes(Magic)))
            throw new InvalidDataException("Not a spool file (bad magic line).");
        var rest = span[(first + 2)..];
        var second = rest.IndexOf("\r\n"u8);
        if (second < 0) throw new InvalidDataException("Spool file envelope is truncated.");

        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(rest[..second], Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException("Spool file envelope is not valid JSON.", e);
        }
        if (envelope is null || envelope.Recipients is null || envelope.Recipients.Count == 0 || envelope.Sender is null)
            throw new InvalidDataException("Spool file envelope lacks sender or recipients.");

        var offset = first + 2 + second + 2;
        return new SpoolEntry(Path.GetFileNameWithoutExtension(path), path, offset, stream.Length - offset, envelope);
    }
}

/// <summary>A spool file read back: where it is, its envelope, and where the message bytes start.</summary>
public sealed record SpoolEntry(string QueueId, string Path, long MessageOffset, long MessageLength, Envelope Envelope)
{
    public Stream OpenMessage()
    {
        var stream = InlineFileStream.OpenSequential(Path, FileShare.Read | FileShare.Delete);
        stream.Seek(MessageOffset, SeekOrigin.Begin);
        return stream;
    }
}
