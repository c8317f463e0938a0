using MimeKit;
using MimeKit.Tnef;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Protection;

/// <summary>What a winmail.dat holds, as MIME: its files (real names and types) and its own body.</summary>
/// <param name="Attachments">The files, each a part with its name and a type read from its bytes.</param>
/// <param name="Body">The text or HTML body Outlook wrote into the TNEF (null when it carries none).</param>
public sealed record TnefContents(IReadOnlyList<MimePart> Attachments, TextPart? Body);

/// <summary>
/// Outlook's winmail.dat (application/ms-tnef) opens only in Outlook: a patient or a dentist on
/// another client sees one useless file. Before a copy goes out protected (pickup package, S/MIME
/// envelope) the TNEF is replaced by what it carries. Fails closed: a TNEF that cannot be read, or
/// that yields nothing, stays as it is, so no content is ever dropped on the way.
/// </summary>
public static class TnefUnpacker
{
    private const int SniffBytes = ContentSniffer.PrefixBytes;

    public static bool IsTnef(MimeEntity entity) =>
        entity is TnefPart
        || entity is MimePart part && (part.ContentType.IsMimeType("application", "ms-tnef") || part.ContentType.IsMimeType("application", "vnd.ms-tnef"));

    /// <summary>The files and body inside <paramref name="part"/>; null when it is not TNEF or cannot be read whole.</summary>
    public static TnefContents? TryUnpack(MimeEntity entity)
    {
        if (!IsTnef(entity) || entity is not MimePart { Content: { } content }) return null;
        try
        {
            var tnef = entity as TnefPart ?? new TnefPart { Content = content };
            using var converted = tnef.ConvertToMessage();
            var attachments = new List<MimePart>();
            TextPart? body = null;
            var n = 0;
            foreach (var part in converted.BodyParts.OfType<MimePart>())
            {
                if (part is TextPart text && !part.IsAttachment && (text.IsPlain || text.IsHtml))
                {
                    // The first body wins; a second one is the same text in the other format.
                    body ??= new TextPart(text.IsHtml ? "html" : "plain") { Text = text.Text };
                    continue;
                }
                n++;
                attachments.Add(Detached(part, n));
            }
            return attachments.Count == 0 && body is null ? null : new TnefContents(attachments, body);
        }
        catch (Exception e) when (e is TnefException or InvalidDataException or IOException or FormatException or ArgumentException
                                      or InvalidOperationException or NotSupportedException or OverflowException)
        {
            return null;
        }
    }

    /// <summary>
    /// Replaces every readable TNEF part of <paramref name="message"/> with the files it carries, in
    /// its place; its body joins the message when the message has no text or HTML body of its own.
    /// Returns whether anything changed.
    /// </summary>
    public static bool UnpackAll(MimeMessage message)
    {
        var found = new List<(MimeEntity Entity, Multipart? Parent)>();
        using (var iterator = new MimeIterator(message))
        {
            while (iterator.MoveNext())
            {
                if (IsTnef(iterator.Current)) found.Add((iterator.Current, iterator.Parent as Multipart));
            }
        }
        var changed = false;
        foreach (var (entity, parent) in found)
        {
            if (TryUnpack(entity) is not { } contents) continue;
            var files = new Multipart("mixed");
            if (parent is null)
            {
                // The winmail.dat is the whole body: its own body (if any) first, then the files.
                if (contents.Body is { } only) files.Add(only);
                foreach (var a in contents.Attachments) files.Add(a);
                message.Body = files.Count == 1 ? files[0] : files;
                changed = true;
                continue;
            }
            var index = parent.IndexOf(entity);
            parent.RemoveAt(index);
            foreach (var a in contents.Attachments) parent.Insert(index++, a);
            if (contents.Body is { } body && !HasReadableBody(message)) AddBody(message, body);
            changed = true;
        }
        return changed;
    }

    /// <summary>A text or HTML part that a mail client shows as the message (not an attachment).</summary>
    public static bool HasReadableBody(MimeMessage message) =>
        message.BodyParts.OfType<TextPart>().Any(t => !t.IsAttachment && (t.IsPlain || t.IsHtml) && !string.IsNullOrWhiteSpace(t.Text));

    /// <summary>Puts <paramref name="body"/> first in the message, before everything else.</summary>
    public static void AddBody(MimeMessage message, TextPart body)
    {
        if (message.Body is Multipart { ContentType.MediaSubtype: "mixed" } mixed) mixed.Insert(0, body);
        else message.Body = message.Body is null ? body : new Multipart("mixed") { body, message.Body };
    }

    /// <summary>A self-contained copy of an extracted file: content in memory, a type its bytes confirm, a name.</summary>
    private static MimePart Detached(MimePart part, int n)
    {
        var bytes = new MemoryStream();
        part.Content?.DecodeTo(bytes);
        var data = bytes.ToArray();
        var sniff = ContentSniffer.Sniff(data.AsSpan(0, Math.Min(data.Length, SniffBytes)), data.Length);
        var type = sniff.Format switch
        {
            "DICOM" => "application/dicom",
            "JPEG" => "image/jpeg",
            "PNG" => "image/png",
            "TIFF" => "image/tiff",
            "ZIP" => "application/zip",
            "PDF" => "application/pdf",
            _ when !part.ContentType.IsMimeType("application", "octet-stream") && !part.ContentType.IsMimeType("text", "*") => part.ContentType.MimeType,
            _ when part.FileName is { Length: > 0 } name => MimeTypes.GetMimeType(name),
            _ => "application/octet-stream",
        };
        var copy = new MimePart(ContentType.Parse(type))
        {
            Content = new MimeContent(new MemoryStream(data, writable: false)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
            ContentTransferEncoding = ContentEncoding.Base64,
            FileName = part.FileName is { Length: > 0 } f ? f : $"attachment-{n}{Extension(sniff.Format)}",
        };
        if (part.ContentId is { Length: > 0 } cid) copy.ContentId = cid;
        return copy;
    }

    private static string Extension(string format) => format switch
    {
        "DICOM" => ".dcm",
        "JPEG" => ".jpg",
        "PNG" => ".png",
        "TIFF" => ".tif",
        "ZIP" => ".zip",
        "PDF" => ".pdf",
        _ => ".bin",
    };
}
