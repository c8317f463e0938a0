namespace PhiMailGateway.Protection;

/// <summary>
/// What the protection stages write through on the way to a file (the S/MIME envelope, its base64
/// lines, the pickup package's sealed chunks): forward-only and write-only. Subclasses implement the
/// writes, <see cref="Stream.CanWrite"/> and, where they finish something, disposal.
/// </summary>
public abstract class WriteOnlyStream : Stream
{
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Flush()
    {
    }
}
