using System.Buffers;
using MimeKit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Spool;

namespace PhiMailGateway.PickupWeb;

/// <summary>
/// Sends the one-time code the way any other mail leaves the gateway: into the queue through
/// <see cref="IMessageAcceptor"/>, then through the pipeline and the relay. The page never holds
/// relay credentials or talks to the smarthost itself (least privilege).
/// </summary>
public sealed class PickupCodeMailer(IMessageAcceptor acceptor, PickupOptions options, GatewayOptions gateway, TimeProvider time)
{
    public string FromAddress => options.FromAddress is { Length: > 0 } from ? MailboxAddress.Parse(from).Address : $"no-reply@{gateway.HostName}";

    /// <returns>True once the mail is durably queued.</returns>
    public async Task<bool> SendAsync(string recipient, string code, CancellationToken cancellationToken)
    {
        var practice = options.PracticeName;
        var minutes = (int)options.CodeLifetime.TotalMinutes;
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(practice, FromAddress));
        message.To.Add(MailboxAddress.Parse(recipient));
        // The code is not in the subject: lock screens and mail logs show subjects.
        message.Subject = $"Your code to open files from {practice}";
        message.Date = time.GetUtcNow();
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId(gateway.HostName);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        var text = $"""
            Your code is: {code}

            Enter it on the page where you asked for it. It works once, for {minutes} minutes.

            If you did not ask for a code, you can ignore this email: nobody can open the files without it.

            {practice}
            """.Replace("\n", "\r\n", StringComparison.Ordinal);
        var html = $"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a">
            <p>Your code is:</p>
            <p style="font-size:32px;font-weight:bold;letter-spacing:6px;margin:0 0 16px">{code}</p>
            <p>Enter it on the page where you asked for it. It works once, for {minutes} minutes.</p>
            <p style="color:#444">If you did not ask for a code, you can ignore this email: nobody can open the files without it.</p>
            <p>{System.Net.WebUtility.HtmlEncode(practice)}</p>
            </body></html>
            """;
        message.Body = new MultipartAlternative { new TextPart("plain") { Text = text }, new TextPart("html") { Text = html } };

        using var bytes = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, bytes, cancellationToken);
        var envelope = new Envelope(FromAddress, [recipient], AuthenticatedUser: null, ClientAddress: "127.0.0.1", HeloName: "pickup-page",
            ReceivedAt: time.GetUtcNow(), Secure: false);
        var result = await acceptor.AcceptAsync(envelope, new ReadOnlySequence<byte>(bytes.ToArray()), cancellationToken);
        return result is AcceptResult.Accepted;
    }
}
