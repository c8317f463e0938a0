namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Reads a decompressor (created lazily, so a header it refuses is a read error too) while
/// counting: past the compression ratio (a bomb, stopped as soon as it shows, not after the
/// whole stream) or past the attachment's byte budget, reading stops with
/// <see cref="ArchiveLimitException"/>. Any other failure of the decompressor becomes
/// <see cref="InvalidDataException"/>, which the walk turns into a fail-closed finding; libraries
/// throw types of their own, and none of them may turn into "no dental image".
/// </summary>
/// <param name="atEnd">Called once the decompressor reports its end, with the CRC-32 of all output (0 unless <paramref name="computeCrc"/>): the reason to fail closed (data it never read), or null.</param>
/// <param name="computeCrc">Only gzip's trailer needs it; the other formats check their own.</param>
internal sealed class DecompressingReadStream(Func<Stream> open, long compressedLength, Func<long, string?> charge, long maxRatio, Func<uint, string?> atEnd, bool computeCrc) : ReadOnlyForwardStream
{
    private const int RatioCheckMinBytes = 4096;
    private Stream? _inner;
    private long _read;
    private uint _crc = Crc32.Seed;
    private bool _ended;

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            _inner ??= open();
            read = _inner.Read(buffer);
        }
        catch (Exception e) when (e is not (OperationCanceledException or ArchiveLimitException or InvalidDataException))
        {
            throw new InvalidDataException($"compressed content could not be decoded ({e.GetType().Name})", e);
        }
        if (read == 0 && buffer.Length > 0 && !_ended)
        {
            _ended = true;
            if (atEnd(computeCrc ? Crc32.Finish(_crc) : 0) is { } failure) throw new ArchiveLimitException(failure);
        }
        if (computeCrc) _crc = Crc32.Append(_crc, buffer[..read]);
        _read += read;
        if (_read >= RatioCheckMinBytes && _read > maxRatio * Math.Max(1, compressedLength))
            throw new ArchiveLimitException($"compression ratio above {maxRatio} (Inspection:MaxCompressionRatio): a compression bomb");
        if (charge(read) is { } limit) throw new ArchiveLimitException(limit);
        return read;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Position { get => _read; }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try { _inner?.Dispose(); }
            catch (Exception e) when (e is not OperationCanceledException) { /* a broken decompressor must not fail the walk on close */ }
        }
        base.Dispose(disposing);
    }
}

/// <summary>
/// A bound of <see cref="InspectionOptions"/> was reached while reading a container, or the
/// container holds bytes its reader cannot account for: the item fails closed with this message.
/// </summary>
internal sealed class ArchiveLimitException(string message) : Exception(message);
