using MimeKit;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// MIME part content read once from a stream that cannot seek (the envelope arriving through a
/// pipe). MimeKit's own <see cref="MimeContent"/> requires a seekable stream; a part with this
/// content can be written exactly once, which is all the S/MIME stage does with it.
/// </summary>
internal sealed class OneShotContent(Stream stream) : IMimeContent, IDisposable
{
    private int _used;

    public ContentEncoding Encoding => ContentEncoding.Binary;

    public NewLineFormat? NewLineFormat { get; set; }

    public Stream Stream => stream;

    public Stream Open() => Take();

    public void WriteTo(Stream output, CancellationToken cancellationToken = default) => Take().CopyTo(output);

    public Task WriteToAsync(Stream output, CancellationToken cancellationToken = default) => Take().CopyToAsync(output, 81920, cancellationToken);

    public void DecodeTo(Stream output, CancellationToken cancellationToken = default) => WriteTo(output, cancellationToken);

    public Task DecodeToAsync(Stream output, CancellationToken cancellationToken = default) => WriteToAsync(output, cancellationToken);

    private Stream Take() =>
        Interlocked.Exchange(ref _used, 1) == 0 ? stream : throw new InvalidOperationException("This content can be read only once.");

    public void Dispose()
    {
    }
}
