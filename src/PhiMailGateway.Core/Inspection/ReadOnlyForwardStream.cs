namespace PhiMailGateway.Inspection;

/// <summary>
/// What inspection reads through while it walks a part (decoders, decompressors, bounded archive
/// entries): forward-only and read-only. Subclasses implement the reads and, where they can tell,
/// <see cref="Position"/>.
/// </summary>
public abstract class ReadOnlyForwardStream : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }
}
