using MimeKit;
using MimeKit.Cryptography;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// The <c>application/pkcs7-mime; smime-type=enveloped-data</c> body of an S/MIME copy whose
/// envelope is produced while the copy is written: <paramref name="writeEnvelope"/> writes the
/// binary CMS into a <see cref="Base64LineWriter"/> on the copy's own file stream. No pipe, no
/// second thread and no buffer of the envelope: the plaintext is read once from the spool and each
/// byte is encrypted and encoded on its way to the file. It can be written once, asynchronously,
/// which is all the S/MIME stage does with it.
/// </summary>
internal sealed class EnvelopePart(Func<Stream, CancellationToken, Task> writeEnvelope)
    : ApplicationPkcs7Mime(SecureMimeType.EnvelopedData, Stream.Null)
{
    private int _written;

    public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
    {
        // Base64 in 76-character lines: nothing for MimeKit to re-encode.
    }

    public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _written, 1) != 0) throw new InvalidOperationException("The envelope part can be written only once.");
        if (!contentOnly) await Headers.WriteToAsync(options, stream, cancellationToken); // ends with the empty line
        await using var base64 = new Base64LineWriter(stream, options.NewLineFormat == NewLineFormat.Dos ? "\r\n" : "\n");
        await writeEnvelope(base64, cancellationToken);
    }

    public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The envelope part is written once, asynchronously, by the S/MIME stage.");
}
