using System.Buffers;
using System.Buffers.Text;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// A write-only stream that base64-encodes what is written to it into lines of 76 characters,
/// each ending with <c>newLine</c> (MIME's limit and MimeKit's layout), using .NET's vectorised
/// encoder. MimeKit's path for a binary part runs every byte through its base64 filter and then its
/// line-end filter, one of the largest costs of a large S/MIME copy. Dispose (or <see cref="DisposeAsync"/>) writes the last, shorter line; the
/// inner stream stays open.
/// </summary>
internal sealed class Base64LineWriter : WriteOnlyStream
{
    private const int BytesPerLine = 57; // 76 characters
    private const int CharsPerLine = 76;
    private const int LinesPerBlock = 1024;
    private const int BlockBytes = BytesPerLine * LinesPerBlock;

    private readonly Stream _inner;
    private readonly byte[] _newLine;
    private readonly byte[] _pending = ArrayPool<byte>.Shared.Rent(BlockBytes);
    private readonly byte[] _encoded;
    private int _pendingLength;
    private bool _finished;

    public Base64LineWriter(Stream inner, string newLine)
    {
        if (newLine is not ("\r\n" or "\n")) throw new ArgumentException("The line end must be CRLF or LF.", nameof(newLine));
        _inner = inner;
        _newLine = newLine == "\r\n" ? "\r\n"u8.ToArray() : "\n"u8.ToArray();
        _encoded = ArrayPool<byte>.Shared.Rent(LinesPerBlock * (CharsPerLine + _newLine.Length));
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, BlockBytes - _pendingLength);
            buffer[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            buffer = buffer[take..];
            if (_pendingLength == BlockBytes) _inner.Write(_encoded, 0, EncodePending());
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, BlockBytes - _pendingLength);
            buffer.Span[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            buffer = buffer[take..];
            if (_pendingLength == BlockBytes) await _inner.WriteAsync(_encoded.AsMemory(0, EncodePending()), cancellationToken);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Encodes all pending bytes (whole lines, then at most one shorter line) into the output buffer; returns its length.</summary>
    private int EncodePending()
    {
        var input = _pending.AsSpan(0, _pendingLength);
        var output = _encoded.AsSpan();
        var written = 0;
        while (!input.IsEmpty)
        {
            var line = input[..Math.Min(BytesPerLine, input.Length)];
            Base64.EncodeToUtf8(line, output[written..], out _, out var chars);
            written += chars;
            _newLine.CopyTo(output[written..]);
            written += _newLine.Length;
            input = input[line.Length..];
        }
        _pendingLength = 0;
        return written;
    }

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_finished)
        {
            _finished = true;
            if (_pendingLength > 0) _inner.Write(_encoded, 0, EncodePending());
            Return();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            _finished = true;
            if (_pendingLength > 0) await _inner.WriteAsync(_encoded.AsMemory(0, EncodePending()));
            Return();
        }
        await base.DisposeAsync();
    }

    private void Return()
    {
        ArrayPool<byte>.Shared.Return(_pending);
        ArrayPool<byte>.Shared.Return(_encoded);
    }

    public override bool CanWrite => !_finished;
}
