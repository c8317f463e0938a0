using MailKit;
using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;
using MimeKit;

namespace PhiMailGateway.Relay;

/// <summary>
/// How an SMTP server's replies become per-recipient outcomes, the same for the smarthost and for
/// a recipient's own MX: RCPT 4xx defers that recipient and 5xx fails it; a refused MAIL FROM or
/// DATA decides for every recipient still pending; a refused greeting, EHLO, STARTTLS or AUTH is a
/// connection problem and defers all, never a bounce.
/// </summary>
internal static class SmtpReplies
{
    /// <summary>The outcomes of a transaction that ended with <paramref name="e"/>; null when it was refused before MAIL FROM (a connection problem).</summary>
    public static IReadOnlyList<RecipientOutcome>? ForCommandFailure(ILogger logger, RelayRequest request, IReadOnlyList<string> addresses, List<MailboxAddress> recipients,
        RecordingSmtpClient client, SmtpCommandException e)
    {
        var code = (int)e.StatusCode;
        var reply = $"{code} {OneLine(e.Message)}";
        switch (e.ErrorCode)
        {
            case SmtpErrorCode.SenderNotAccepted:
                // RCPT replies after a refused MAIL FROM mean nothing; the sender's reply decides for all.
                RelayLog.SenderRefused(logger, request.DeliveryId, code);
                return addresses.Select(r => new RecipientOutcome(r, StatusFor(code), code, reply)).ToArray();

            case SmtpErrorCode.MessageNotAccepted when client.AcceptedCount == 0:
                // No recipient accepted: MailKit never sent DATA. Each recipient has its own RCPT reply.
                return Collect(logger, request, addresses, recipients, client, accepted => new RecipientOutcome(accepted, RecipientStatus.Deferred, code, reply));

            case SmtpErrorCode.MessageNotAccepted:
                RelayLog.DataRefused(logger, request.DeliveryId, code);
                return Collect(logger, request, addresses, recipients, client, accepted => new RecipientOutcome(accepted, StatusFor(code), code, reply));

            default:
                return null;
        }
    }

    /// <summary>Refused recipients keep their RCPT reply; the rest get <paramref name="forAccepted"/>.</summary>
    public static IReadOnlyList<RecipientOutcome> Collect(ILogger logger, RelayRequest request, IReadOnlyList<string> addresses, List<MailboxAddress> recipients,
        RecordingSmtpClient client, Func<string, RecipientOutcome> forAccepted)
    {
        var outcomes = new RecipientOutcome[recipients.Count];
        for (var i = 0; i < recipients.Count; i++)
        {
            if (client.Refused.TryGetValue(recipients[i], out var refused))
            {
                var code = (int)refused.StatusCode;
                RelayLog.RecipientRefused(logger, request.DeliveryId, code);
                RelayLog.RecipientRefusedDetail(logger, request.DeliveryId, addresses[i], OneLine(refused.Response));
                outcomes[i] = Refusal(addresses[i], refused);
            }
            else
            {
                outcomes[i] = forAccepted(addresses[i]);
            }
        }
        return outcomes;
    }

    public static RecipientOutcome Refusal(string recipient, SmtpResponse refused)
    {
        var code = (int)refused.StatusCode;
        return new RecipientOutcome(recipient, StatusFor(code), code, $"{code} {OneLine(refused.Response)}");
    }

    public static RecipientStatus StatusFor(int code) => code is >= 500 and < 600 ? RecipientStatus.Failed : RecipientStatus.Deferred;

    public static string OneLine(string? text) =>
        string.IsNullOrEmpty(text) ? string.Empty : text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Trim();
}

/// <summary>
/// MailKit's per-recipient hooks: record RCPT refusals instead of throwing, so the others proceed.
/// When none is accepted MailKit skips DATA, throws MessageNotAccepted and resets the session.
/// </summary>
internal sealed class RecordingSmtpClient : SmtpClient
{
    /// <summary>
    /// BDAT (RFC 3030 CHUNKING) whenever the smarthost offers it, as Postfix, Exchange and
    /// Microsoft 365 do: the message goes out as it is, where DATA makes MailKit pass every byte
    /// through its dot-stuffing filter byte by byte. Without CHUNKING, MailKit sends DATA as before.
    /// </summary>
    protected override bool PreferSendAsBinaryData => true;

    public Dictionary<MailboxAddress, SmtpResponse> Refused { get; } = new(ReferenceEqualityComparer.Instance);
    public bool SenderAccepted { get; private set; }
    public int AcceptedCount { get; private set; }

    public void BeginTransaction()
    {
        Refused.Clear();
        SenderAccepted = false;
        AcceptedCount = 0;
    }

    protected override void OnSenderAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        SenderAccepted = true;
        base.OnSenderAccepted(message, mailbox, response);
    }

    protected override void OnRecipientAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
    {
        AcceptedCount++;
        base.OnRecipientAccepted(message, mailbox, response);
    }

    protected override void OnRecipientNotAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response) =>
        Refused[mailbox] = response;
}
