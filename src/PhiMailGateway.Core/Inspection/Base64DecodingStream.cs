using System.Buffers.Text;
using MimeKit;
using MimeKit.IO;
using MimeKit.IO.Filters;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Reads a base64 part's encoded content and returns it decoded, 64 KiB at a time, with .NET's
/// vectorised decoder: the streaming twin of <see cref="MimePartDecoder"/> for parts too large to
/// decode in memory. At the first group of four characters that is not plain base64 (a stray
/// character, padding, anything MimeKit is lenient about) the rest, from that group on, is handed to
/// MimeKit's decoder. Every group before it was four alphabet characters, after which MimeKit's
/// decoder holds no state, so the output is the same as MimeKit decoding the whole part.
/// </summary>
/// <param name="strict">For inspection: at the point where MimeKit would take over, check the whole part
/// (<see cref="Base64Validator"/>) and throw <see cref="UndecodableContentException"/> when it is not clean.</param>
internal sealed class Base64DecodingStream(Stream encoded, bool strict = false) : ReadOnlyForwardStream
{
    private const int ChunkSize = 64 * 1024;

    private readonly byte[] _encoded = new byte[ChunkSize + 4];
    private readonly byte[] _decoded = new byte[ChunkSize / 4 * 3 + 3];
    private int _carry;          // encoded bytes (whitespace removed) waiting for a complete group
    private int _outStart, _outEnd;
    private bool _sourceDone;
    private Stream? _fallback;   // MimeKit's decoder, once the fast path stepped aside

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            if (_outStart < _outEnd)
            {
                var n = Math.Min(buffer.Length, _outEnd - _outStart);
                _decoded.AsSpan(_outStart, n).CopyTo(buffer);
                _outStart += n;
                return n;
            }
            if (_fallback is not null) return _fallback.Read(buffer);
            if (_sourceDone) return 0;
            Fill(encoded.Read(_encoded.AsSpan(_carry, ChunkSize - _carry)));
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            if (_outStart < _outEnd)
            {
                var n = Math.Min(buffer.Length, _outEnd - _outStart);
                _decoded.AsMemory(_outStart, n).CopyTo(buffer);
                _outStart += n;
                return n;
            }
            if (_fallback is not null) return await _fallback.ReadAsync(buffer, cancellationToken);
            if (_sourceDone) return 0;
            Fill(await encoded.ReadAsync(_encoded.AsMemory(_carry, ChunkSize - _carry), cancellationToken));
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Decodes what <paramref name="read"/> added after the carried bytes.</summary>
    private void Fill(int read)
    {
        _outStart = _outEnd = 0;
        if (read == 0) _sourceDone = true;
        var length = _carry + MimePartDecoder.RemoveWhitespace(_encoded.AsSpan(_carry, read));
        var whole = _sourceDone ? length : length - length % 4;
        var status = Base64.DecodeFromUtf8(_encoded.AsSpan(0, whole), _decoded, out var consumed, out var written, isFinalBlock: _sourceDone);
        _outEnd = written;
        if (status == System.Buffers.OperationStatus.Done && consumed == whole)
        {
            _carry = length - whole;
            _encoded.AsSpan(whole, _carry).CopyTo(_encoded);
            return;
        }
        // Not plain base64 from this group on: MimeKit decodes the rest, starting with these bytes.
        if (strict) CheckWholePart();
        var rest = new ChainedStream();
        rest.Add(new MemoryStream(_encoded.AsSpan(consumed, length - consumed).ToArray()));
        if (!_sourceDone) rest.Add(encoded, leaveOpen: true); // the part's content stream is MimeKit's to close
        var filtered = new FilteredStream(rest);
        filtered.Add(DecoderFilter.Create(ContentEncoding.Base64));
        _fallback = filtered;
        _carry = 0;
    }

    private void CheckWholePart()
    {
        var position = encoded.Position;
        encoded.Position = 0;
        var defect = Base64Validator.FindDefect(encoded);
        encoded.Position = position;
        if (defect is not null) throw new UndecodableContentException(defect);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _fallback?.Dispose();
        base.Dispose(disposing);
    }

}
