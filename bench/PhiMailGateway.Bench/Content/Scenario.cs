using System.Text;
using MimeKit;

namespace PhiMailGateway.Bench.Content;

/// <summary>What a scenario needs from the gateway beyond plain relaying (features landing separately).</summary>
[Flags]
public enum Feature
{
    None = 0,
    Pickup = 1,
    Smime = 2,
    /// <summary>TLS-first direct delivery: copies go to the recipient domain's MX (a local sink, found through a local DNS server).</summary>
    Direct = 4,
}

/// <summary>
/// One benchmark scenario: a message template (headers and body, CRLF, already dot-stuffed, without
/// the per-message X-Bench-Id and Message-ID that the load generator puts in front), its envelope,
/// and default message counts. Generated in code, the same bytes on every run.
/// </summary>
public sealed class Scenario
{
    public const string Sender = "frontdesk@practice.example";
    /// <summary>No certificate: the default rules send dental images to this one by pickup link.</summary>
    public const string PickupRecipient = "referrals@orthodontist.example";
    /// <summary>Has a certificate (imported with `certs import` before the run): dental images go S/MIME.</summary>
    public const string SmimeRecipient = "lab@smime.example";
    public const string PlainRecipient = "colleague@referral.example";
    /// <summary>Its domain's MX is the bench's TLS sink with a certificate from the bench CA: PKIX-verified direct delivery.</summary>
    public const string DirectRecipient = "referrals@" + Direct.RecipientDomains.PkixDomain;
    /// <summary>Its domain is signed and its MX has a TLSA 3 1 1 record: DANE-verified direct delivery.</summary>
    public const string DaneRecipient = "referrals@" + Direct.RecipientDomains.DaneDomain;

    private Scenario(string name, string description, Feature needs, string[] recipients, byte[] template, int messagesOne, int messagesMany, int warmup)
    {
        Name = name;
        Description = description;
        Needs = needs;
        Recipients = recipients;
        Template = template;
        DefaultMessagesOneSession = messagesOne;
        DefaultMessagesManySessions = messagesMany;
        Warmup = warmup;
    }

    public string Name { get; }
    public string Description { get; }
    public Feature Needs { get; }
    public string[] Recipients { get; }
    public byte[] Template { get; }
    public int DefaultMessagesOneSession { get; }
    public int DefaultMessagesManySessions { get; }
    public int Warmup { get; }

    public int DefaultMessages(int sessions) => sessions <= 1 ? DefaultMessagesOneSession : DefaultMessagesManySessions;

    public static readonly string[] Names = ["relay-1k", "relay-100k", "pickup-100k", "smime-100k", "smime-5m", "panoramic-5m", "cbct-30m", "tlsfirst-100k", "tlsfirst-dane-100k"];

    public static Scenario Create(string name) => name switch
    {
        "relay-1k" => new(name, "1 KB text, Relay", Feature.None, [PlainRecipient],
            Text("Appointment moved", 1024, PlainRecipient), 1000, 4000, 6000),
        "relay-100k" => new(name, "100 KB message, PDF referral letter (not an image), Relay: the 100 KB size class while Pickup is missing", Feature.None, [PlainRecipient],
            WithAttachment([PlainRecipient], "Referral letter", "application", "pdf", "referral.pdf", DentalContent.Pdf(AttachmentBytesFor(100 * 1024))), 600, 3000, 6000),
        "pickup-100k" => new(name, "100 KB message, intra-oral JPEG 1600x1200 colour, Pickup", Feature.Pickup, [PickupRecipient],
            WithAttachment([PickupRecipient], "Intra-oral photos", "image", "jpeg", "intraoral-1.jpg", DentalContent.IntraoralJpeg(AttachmentBytesFor(100 * 1024))), 600, 3000, 6000),
        "smime-100k" => new(name, "100 KB message, intra-oral JPEG, recipient with certificate, Smime", Feature.Smime, [SmimeRecipient],
            WithAttachment([SmimeRecipient], "Intra-oral photos", "image", "jpeg", "intraoral-1.jpg", DentalContent.IntraoralJpeg(AttachmentBytesFor(100 * 1024))), 600, 3000, 6000),
        // The issue's "5 MB S/MIME" target, alone: one recipient, with a certificate.
        "smime-5m" => new(name, "5 MB message, panoramic JPEG 2900x1400 grayscale, recipient with certificate, Smime", Feature.Smime, [SmimeRecipient],
            WithAttachment([SmimeRecipient], "Panoramic X-ray", "image", "jpeg", "panoramic.jpg", DentalContent.PanoramicJpeg(AttachmentBytesFor(5 * 1024 * 1024))), 20, 100, 30),
        "panoramic-5m" => new(name, "5 MB message, panoramic JPEG 2900x1400 grayscale, Smime + Pickup recipients", Feature.Smime | Feature.Pickup, [SmimeRecipient, PickupRecipient],
            WithAttachment([SmimeRecipient, PickupRecipient], "Panoramic X-ray", "image", "jpeg", "panoramic.jpg", DentalContent.PanoramicJpeg(AttachmentBytesFor(5 * 1024 * 1024))), 20, 100, 30),
        "cbct-30m" => new(name, "30 MB message, zipped CBCT DICOM series, Pickup", Feature.Pickup, [PickupRecipient],
            WithAttachment([PickupRecipient], "CBCT for implant planning", "application", "zip", "cbct.zip", DentalContent.CbctZip(AttachmentBytesFor(30 * 1024 * 1024))), 5, 40, 3),
        // pickup-100k's message, with Direct:Enabled: the shipped images-tls-first rule sends it to the MX.
        "tlsfirst-100k" => new(name, "100 KB message, intra-oral JPEG, TLS-first direct to the recipient's MX (PKIX, bench CA)", Feature.Direct, [DirectRecipient],
            WithAttachment([DirectRecipient], "Intra-oral photos", "image", "jpeg", "intraoral-1.jpg", DentalContent.IntraoralJpeg(AttachmentBytesFor(100 * 1024))), 600, 3000, 6000),
        "tlsfirst-dane-100k" => new(name, "100 KB message, intra-oral JPEG, TLS-first direct to the recipient's MX (DANE-EE, signed zone)", Feature.Direct, [DaneRecipient],
            WithAttachment([DaneRecipient], "Intra-oral photos", "image", "jpeg", "intraoral-1.jpg", DentalContent.IntraoralJpeg(AttachmentBytesFor(100 * 1024))), 600, 3000, 6000),
        _ => throw new ArgumentException($"Unknown scenario '{name}'. Known: {string.Join(", ", Names)}."),
    };

    /// <summary>Base64 with 76-character lines grows data by about 1.37; the message size is what the name says.</summary>
    private static int AttachmentBytesFor(int messageBytes) => (int)((messageBytes - 1500) / 1.37);

    private static byte[] Text(string subject, int totalBytes, params string[] to)
    {
        var message = NewMessage(subject, to);
        var line = "The appointment on Tuesday is moved to Thursday at 10:00. Please call us if that does not suit.\r\n";
        var headerBytes = Render(message, new TextPart("plain") { Text = "" }).Length;
        var body = new StringBuilder();
        while (headerBytes + body.Length + line.Length < totalBytes) body.Append(line);
        return Render(message, new TextPart("plain") { Text = body.ToString() });
    }

    private static byte[] WithAttachment(string[] to, string subject, string mediaType, string subtype, string fileName, byte[] content)
    {
        var message = NewMessage(subject, to);
        var mixed = new Multipart("mixed") { Boundary = "=_bench_" + subtype };
        mixed.Add(new TextPart("plain") { Text = "Please see the attached images for TEST^PATIENT.\r\n" });
        mixed.Add(new MimePart(mediaType, subtype)
        {
            Content = new MimeContent(new MemoryStream(content)),
            ContentDisposition = new ContentDisposition(ContentDisposition.Attachment) { FileName = fileName },
            ContentTransferEncoding = ContentEncoding.Base64,
        });
        return Render(message, mixed);
    }

    private static MimeMessage NewMessage(string subject, string[] to)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(Sender));
        foreach (var address in to) message.To.Add(MailboxAddress.Parse(address));
        message.Subject = subject;
        message.Date = new DateTimeOffset(2024, 1, 2, 9, 0, 0, TimeSpan.Zero);
        return message;
    }

    private static byte[] Render(MimeMessage message, MimeEntity body)
    {
        message.Body = body;
        message.Headers.Remove(HeaderId.MessageId);
        var output = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, output);
        var bytes = output.ToArray();
        if (bytes.Length < 2 || bytes[^2] != '\r' || bytes[^1] != '\n') bytes = [.. bytes, (byte)'\r', (byte)'\n'];
        return DotStuff(bytes);
    }

    /// <summary>RFC 5321 4.5.2: a line that starts with a dot gets one more.</summary>
    private static byte[] DotStuff(byte[] data)
    {
        var output = new MemoryStream(data.Length + 64);
        var lineStart = true;
        foreach (var b in data)
        {
            if (lineStart && b == '.') output.WriteByte((byte)'.');
            output.WriteByte(b);
            lineStart = b == '\n';
        }
        return output.ToArray();
    }
}
