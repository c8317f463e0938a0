using MimeKit;
using MimeKit.Utils;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Replies;

/// <summary>
/// Writes a <see cref="SecureReply"/> as the mail the practice receives: From the gateway (the
/// recipient's own domain may refuse to be spoofed, and the practice's filters trust the gateway),
/// Reply-To the recipient, To the practice addresses of the reply, "Re: " and the original subject,
/// In-Reply-To the original message; the recipient's text as the first part and each file as an
/// ordinary attachment, base64, streamed from its source while the message is written.
/// </summary>
public static class ReplyMessageWriter
{
    public const string ReplyHeader = "X-PhiMail-Secure-Reply";

    // Mail on the wire and in the spool has CRLF line ends, whatever the server's own convention.
    private static readonly FormatOptions Wire = CreateWireFormat();

    private static FormatOptions CreateWireFormat()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return options;
    }

    /// <param name="gatewayAddress">Pickup:FromAddress (or the gateway's default sender address).</param>
    /// <param name="domain">The right-hand side of the new Message-ID.</param>
    public static async Task WriteAsync(SecureReply reply, string gatewayAddress, string domain, Stream output, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(reply.To.Count);
        var message = new MimeMessage { Date = reply.SentAt, Subject = Subject(reply.OriginalSubject), MessageId = MimeUtils.GenerateMessageId(domain) };
        message.From.Add(new MailboxAddress("Secure reply from " + reply.From, gatewayAddress));
        message.ReplyTo.Add(MailboxAddress.Parse(reply.From));
        foreach (var to in reply.To) message.To.Add(MailboxAddress.Parse(to));
        if (reply.OriginalMessageId is { Length: > 0 } original)
        {
            message.InReplyTo = original;
            message.References.Add(original);
        }
        // Says to the practice's own rules what this is; the gateway itself never trusts it (anyone can write a header).
        message.Headers.Add(ReplyHeader, "1");

        var body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = reply.Text, ContentTransferEncoding = ContentEncoding.QuotedPrintable },
        };
        var opened = new List<Stream>();
        try
        {
            for (var i = 0; i < reply.Files.Count; i++)
            {
                var file = reply.Files[i];
                var content = await file.OpenRead(cancellationToken);
                opened.Add(content);
                body.Add(new MimePart(ContentType.TryParse(file.ContentType, out var type) ? type : new ContentType("application", "octet-stream"))
                {
                    Content = new MimeContent(content),
                    ContentDisposition = new ContentDisposition(ContentDisposition.Attachment),
                    ContentTransferEncoding = ContentEncoding.Base64,
                    FileName = PickupFileName.Safe(file.Name, i + 1, ""),
                });
            }
            message.Body = body;
            await message.WriteToAsync(Wire, output, cancellationToken);
        }
        finally
        {
            foreach (var stream in opened) await stream.DisposeAsync();
        }
    }

    /// <summary>"Re: " before the original subject, once: a reply to "Re: X" is "Re: X", not "Re: Re: X".</summary>
    public static string Subject(string original)
    {
        var trimmed = (original ?? "").Trim();
        return trimmed.StartsWith("Re:", StringComparison.OrdinalIgnoreCase) ? trimmed : "Re: " + trimmed;
    }
}
