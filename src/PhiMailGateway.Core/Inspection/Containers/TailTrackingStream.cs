namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Serves a compressed scratch file to a decompressor. Decompressors stop at the end of their
/// stream and ignore what follows, and read ahead in large blocks, so bytes hidden after the end
/// would go unseen: near the end of the file (the last 64 KiB) this stream hands out small pieces,
/// so that once the decompressor is done the unread rest of the file is known almost to the byte
/// (<see cref="HasUnreadData"/>). Read-only; never closes the file.
/// </summary>
internal sealed class TailTrackingStream(FileStream file) : ReadOnlyForwardStream
{
    private const int TailWindow = 64 * 1024;
    private const int TailPiece = 16;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (file.Length - file.Position <= TailWindow && buffer.Length > TailPiece) buffer = buffer[..TailPiece];
        return file.Read(buffer);
    }

    /// <summary>True when a byte other than zero padding follows what the decompressor has read.</summary>
    public bool HasUnreadData()
    {
        var buffer = new byte[81920];
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            if (buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0) >= 0) return true;
        }
        return false;
    }

    /// <summary>The last <paramref name="count"/> bytes of the file (for a trailer check).</summary>
    public byte[] Tail(int count)
    {
        var tail = new byte[Math.Min(count, file.Length)];
        var position = file.Position;
        file.Position = file.Length - tail.Length;
        file.ReadExactly(tail);
        file.Position = position;
        return tail;
    }

    public long Unread => file.Length - file.Position;

    public override long Position { get => file.Position; }
}
