using MimeKit;

namespace PhiMailGateway.Relay;

/// <summary>
/// A leaf part of a queued copy that is relayed with its content exactly as it lies in the queued
/// file. MimeKit writes a part's content through a line-end filter byte by byte (and MailKit
/// writes the message twice when the server announces SIZE), which the benchmark showed as the
/// largest cost of relaying a large copy; every file the relay reads already has CRLF line ends
/// (the spool normalises them on the way in, generated copies are written with CRLF), so the
/// filter changes nothing and is skipped. Only for base64 content, whose lines are short by
/// construction: anything else is written by MimeKit as before.
/// </summary>
public sealed class RawMimePart(MimeEntityConstructorArgs args) : MimePart(args)
{
    /// <summary>Content types whose parts are worth copying raw: the large ones in dental mail.</summary>
    public static readonly string[] MimeTypes =
    [
        "application/pkcs7-mime", "application/x-pkcs7-mime", "application/pkcs7-signature", "application/x-pkcs7-signature",
        "image/jpeg", "image/png", "image/tiff", "image/jp2", "image/bmp", "image/gif", "image/webp", "image/heic",
        "application/dicom", "application/zip", "application/x-zip-compressed", "application/octet-stream", "application/pdf",
        "model/stl", "application/sla", "application/ms-tnef",
    ];

    /// <summary>Parser options that create a <see cref="RawMimePart"/> for the types above.</summary>
    public static ParserOptions CreateParserOptions()
    {
        var options = ParserOptions.Default.Clone();
        foreach (var type in MimeTypes) options.RegisterMimeType(type, typeof(RawMimePart));
        return options;
    }

    private bool CopiesRaw(FormatOptions options) =>
        options.NewLineFormat == NewLineFormat.Dos
        && ContentTransferEncoding == ContentEncoding.Base64
        && Content is { Encoding: ContentEncoding.Base64, Stream.CanSeek: true };

    public override void Prepare(EncodingConstraint constraint, int maxLineLength = 78)
    {
        // Base64 is 7-bit with short lines already: nothing to re-encode.
        if (ContentTransferEncoding == ContentEncoding.Base64) return;
        base.Prepare(constraint, maxLineLength);
    }

    public override void WriteTo(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
    {
        if (!CopiesRaw(options))
        {
            base.WriteTo(options, stream, contentOnly, cancellationToken);
            return;
        }
        if (!contentOnly)
        {
            Headers.WriteTo(options, stream, cancellationToken); // ends with the empty line
        }
        var content = Content!.Stream!;
        if (Measured(stream, content)) return;
        content.Position = 0;
        content.CopyTo(stream, 81920);
    }

    public override async Task WriteToAsync(FormatOptions options, Stream stream, bool contentOnly, CancellationToken cancellationToken = default)
    {
        if (!CopiesRaw(options))
        {
            await base.WriteToAsync(options, stream, contentOnly, cancellationToken);
            return;
        }
        if (!contentOnly)
        {
            await Headers.WriteToAsync(options, stream, cancellationToken); // ends with the empty line
        }
        var content = Content!.Stream!;
        if (Measured(stream, content)) return;
        content.Position = 0;
        await content.CopyToAsync(stream, 81920, cancellationToken);
    }

    /// <summary>
    /// MailKit measures the message before sending it (for SIZE and for BDAT, which needs the exact
    /// length): the raw copy adds exactly the content's length, so a measuring stream is told that
    /// length instead of being fed the bytes.
    /// </summary>
    private static bool Measured(Stream stream, Stream content)
    {
        if (stream is not MimeKit.IO.MeasuringStream measuring) return false;
        measuring.SetLength(measuring.Position + content.Length);
        measuring.Position = measuring.Length;
        return true;
    }
}
