using System.Net;
using MimeKit;
using MimeKit.Utils;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Guard;

/// <summary>
/// The mails the guard writes to the sender: "held, please confirm" with the link to the page, and
/// "cancelled, nobody confirmed". Queued the way a DSN is (a file in <c>spool/outbound</c>, a
/// delivery of the message, the null reverse-path so it never bounces), in the transaction of the
/// decision it reports. They name the held addresses and the reasons, never a subject, a file name
/// or a patient: the mail may cross the internet in the clear.
/// Only a sender of the practice is told (<c>Gateway:Domains</c>, or anyone when it is empty), never
/// the null sender: a notice to an outside address would tell a stranger where PHI was going.
/// </summary>
public sealed class GuardNotices(GatewayOptions gateway, PickupOptions pickup, SpoolDirectory spool, TimeProvider time)
{
    public const string HeldSubject = "Not sent yet: please check the address";
    public const string ExpiredSubject = "Not sent: nobody confirmed the address";
    public const string ReceiptSubject = "Receipt: how your message with images was sent";

    public bool Notifies(string sender)
    {
        if (!DsnBuilder.ShouldBounce(sender) || GuardAddress.Split(sender) is not { Domain: var domain }) return false;
        return gateway.Domains.Length == 0
            || gateway.Domains.Any(d => string.Equals(GuardAddress.NormalizeDomain(d), domain, StringComparison.Ordinal));
    }

    /// <summary>The page a notice links to.</summary>
    public string Link(string token) => $"{pickup.PublicBaseUrl}/g/{token}";

    /// <returns>The notice to enqueue, or null when this sender is not told.</returns>
    public async Task<NewDelivery?> HeldAsync(string queueId, string sender, IReadOnlyList<NewGuardHold> holds, string token, bool othersWent,
        CancellationToken cancellationToken)
    {
        if (holds.Count == 0 || !Notifies(sender)) return null;
        var expires = pickup.Times().DateAndTime(holds.Max(h => h.ExpiresAt));
        var link = Link(token);
        var count = holds.Count == 1 ? "one address" : $"{holds.Count} addresses";
        var held = holds.Select(h => (h.Recipient, Reasons: (IReadOnlyList<string>)h.Reasons.Where(r => r.Action == GuardAction.Hold).Select(r => r.Text).ToList())).ToList();
        // Held by a rule alone (not a suspected wrong address): the sender decides whether it goes by pickup link.
        var byRule = holds.All(h => h.Reasons.Where(r => r.Action == GuardAction.Hold).All(r => r.Check == GuardCheck.RuleHold));

        var text = Lines(
            byRule ? $"Your message with images was not sent to {count} yet:" : $"Your message with images was not sent to {count} yet, because the address may be a mistake:",
            "",
            string.Join("\r\n", held.Select(h => $"  {h.Recipient}\r\n" + string.Join("\r\n", h.Reasons.Select(r => $"    - {r}")))),
            "",
            othersWent ? "The other recipients got the message as usual.\r\n" : null,
            byRule ? "To send it as a secure pickup link, open this page and choose \"Send anyway\". If it should" : "If the address is right, open this page and choose \"Send anyway\". If it is wrong, choose",
            byRule ? "not go, choose \"Don't send\":" : "\"Don't send\", then send the message again to the right address:",
            "",
            $"  {link}",
            "",
            $"If nobody decides by {expires}, it is not sent and you will get an email saying so.",
            $"This message comes from the secure mail gateway of {pickup.PracticeName}.");

        string H(string s) => WebUtility.HtmlEncode(s);
        var items = string.Concat(held.Select(h =>
            $"<li style=\"margin:0 0 8px\"><strong>{H(h.Recipient)}</strong><br>{string.Join("<br>", h.Reasons.Select(r => H(r)))}</li>"));
        var html = Html(
            $"<p style=\"margin:0 0 12px;font-size:18px\"><strong>Your message with images was not sent to {H(count)} yet.</strong></p>"
            + (byRule ? "" : "<p style=\"margin:0 0 8px\">The address may be a mistake:</p>")
            + $"<ul style=\"margin:0 0 16px;padding-left:20px\">{items}</ul>"
            + (othersWent ? "<p style=\"margin:0 0 16px\">The other recipients got the message as usual.</p>" : "")
            + (byRule
                ? "<p style=\"margin:0 0 16px\">To send it as a secure pickup link, choose <strong>Send anyway</strong>. If it should not go, choose <strong>Don&rsquo;t send</strong>.</p>"
                : "<p style=\"margin:0 0 16px\">If the address is right, choose <strong>Send anyway</strong>. If it is wrong, choose <strong>Don&rsquo;t send</strong>, then send the message again to the right address.</p>")
            + $"<p style=\"margin:0 0 20px\"><a href=\"{H(link)}\" style=\"display:inline-block;background:#0b5cad;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold\">{(byRule ? "Decide" : "Check the address")}</a></p>"
            + $"<p style=\"margin:0 0 8px\">If nobody decides by <strong>{H(expires)}</strong>, it is not sent and you will get an email saying so.</p>"
            + $"<p style=\"margin:0 0 8px;font-size:14px;color:#444\">If the button does not work, copy this address into your browser:<br><span style=\"word-break:break-all\">{H(link)}</span></p>"
            + $"<p style=\"margin:0;font-size:14px;color:#444\">This message comes from the secure mail gateway of {H(pickup.PracticeName)}.</p>");
        return await QueueAsync(queueId, "G", sender, HeldSubject, text, html, cancellationToken);
    }

    /// <summary>
    /// The receipt: per recipient how the copy goes (S/MIME, pickup, TLS, held) and the guard's
    /// reasons, and the link to the page where a copy waiting out the send delay can be recalled and
    /// a pickup link not yet opened revoked.
    /// </summary>
    public async Task<NewDelivery?> ReceiptAsync(Pipeline.ProcessedMessage processed, IReadOnlyList<NewGuardHold> holds, string token, DateTimeOffset? sendAfter,
        CancellationToken cancellationToken)
    {
        var sender = processed.Envelope.Sender;
        if (!Notifies(sender)) return null;
        var flagged = processed.Guard.Flagged.ToDictionary(v => v.Recipient, v => v.Reasons.Select(r => r.Text).ToList(), StringComparer.OrdinalIgnoreCase);
        var rows = new List<(string Recipient, string How, IReadOnlyList<string> Notes)>();
        foreach (var copy in processed.Copies)
            foreach (var recipient in copy.Recipients)
                rows.Add((recipient, How(copy.Action), flagged.GetValueOrDefault(recipient) ?? []));
        foreach (var hold in holds)
            rows.Add((hold.Recipient, "not sent yet: please check the address (see the other email)", []));
        foreach (var rejection in processed.Plan.Rejections)
            rows.Add((rejection.Recipient, "not sent: the practice's mail policy refuses it", []));

        var link = Link(token);
        var revocable = processed.Copies.Any(c => c.Action == nameof(Routing.RoutingAction.Pickup));
        var after = sendAfter is { } at ? pickup.Times().DateAndTime(at) : null;
        var text = Lines(
            "How your message with images was sent:",
            "",
            string.Join(CrLf, rows.Select(r => $"  {r.Recipient}{CrLf}    {r.How}" + string.Concat(r.Notes.Select(n => $"{CrLf}    - note: {n}")))),
            "",
            after is not null ? $"The copies leave at {after}; until then you can recall them on the page below." : null,
            revocable ? "A pickup link can be revoked on the page below until it is opened." : null,
            after is not null || revocable ? $"{CrLf}  {link}{CrLf}" : null,
            $"This message comes from the secure mail gateway of {pickup.PracticeName}.");

        string H(string s) => WebUtility.HtmlEncode(s);
        var items = string.Concat(rows.Select(r =>
            $"<li style=\"margin:0 0 8px\"><strong>{H(r.Recipient)}</strong><br>{H(r.How)}"
            + string.Concat(r.Notes.Select(n => $"<br><span style=\"color:#92400e\">Note: {H(n)}</span>")) + "</li>"));
        var html = Html(
            "<p style=\"margin:0 0 12px;font-size:18px\"><strong>How your message with images was sent</strong></p>"
            + $"<ul style=\"margin:0 0 16px;padding-left:20px\">{items}</ul>"
            + (after is not null ? $"<p style=\"margin:0 0 16px\">The copies leave at <strong>{H(after)}</strong>; until then you can recall them.</p>" : "")
            + (revocable ? "<p style=\"margin:0 0 16px\">A pickup link can be revoked until it is opened.</p>" : "")
            + (after is not null || revocable
                ? $"<p style=\"margin:0 0 20px\"><a href=\"{H(link)}\" style=\"display:inline-block;background:#0b5cad;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold\">Recall or revoke</a></p>"
                : "")
            + $"<p style=\"margin:0;font-size:14px;color:#444\">This message comes from the secure mail gateway of {H(pickup.PracticeName)}.</p>");
        return await QueueAsync(processed.QueueId, "R", sender, ReceiptSubject, text, html, cancellationToken);
    }

    /// <summary>How a copy goes, in the sender's words.</summary>
    public static string How(string action) => action switch
    {
        nameof(Routing.RoutingAction.Smime) => "encrypted to their certificate (S/MIME)",
        nameof(Routing.RoutingAction.Pickup) => "secure pickup link: they open it with a one-time code",
        nameof(Routing.RoutingAction.RequireTls) => "sent over a verified encrypted connection (TLS)",
        nameof(Routing.RoutingAction.TlsFirst) => "sent straight to their mail server over a verified encrypted connection, or as a secure pickup link when that cannot be verified",
        nameof(Routing.RoutingAction.Relay) => "sent as usual (a rule of the practice allows it)",
        _ => action,
    };

    /// <returns>The notice to enqueue, or null when this sender is not told.</returns>
    public Task<NewDelivery?> ExpiredAsync(GuardHold hold, CancellationToken cancellationToken)
    {
        if (!Notifies(hold.Sender)) return Task.FromResult<NewDelivery?>(null);
        var byRule = hold.HeldByRuleAlone;
        var text = Lines(
            byRule ? $"Your message with images was not sent to {hold.Recipient}: a rule of the practice held it," : $"Your message with images was not sent to {hold.Recipient}: the address looked like it may be a mistake,",
            "and nobody chose \"Send anyway\" in time.",
            "",
            byRule ? "To send it, send the message again and choose \"Send anyway\" when the gateway asks." : "If the address is right, send the message again; the gateway will ask you once more.",
            $"This message comes from the secure mail gateway of {pickup.PracticeName}.");
        string H(string s) => WebUtility.HtmlEncode(s);
        var html = Html(
            $"<p style=\"margin:0 0 12px;font-size:18px\"><strong>Your message with images was not sent to {H(hold.Recipient)}.</strong></p>"
            + (byRule
                ? "<p style=\"margin:0 0 16px\">A rule of the practice held it, and nobody chose <strong>Send anyway</strong> in time.</p>"
                  + "<p style=\"margin:0 0 16px\">To send it, send the message again and choose <strong>Send anyway</strong> when the gateway asks.</p>"
                : "<p style=\"margin:0 0 16px\">The address looked like it may be a mistake, and nobody chose <strong>Send anyway</strong> in time.</p>"
                  + "<p style=\"margin:0 0 16px\">If the address is right, send the message again; the gateway will ask you once more.</p>")
            + $"<p style=\"margin:0;font-size:14px;color:#444\">This message comes from the secure mail gateway of {H(pickup.PracticeName)}.</p>");
        return QueueAsync(hold.HoldId, "X", hold.Sender, ExpiredSubject, text, html, cancellationToken);
    }

    /// <summary>Removes a notice whose enqueue did not commit; never throws, so the caller's failure is the one reported.</summary>
    public static void Discard(NewDelivery? notice)
    {
        if (notice is not null) BounceWriter.Discard(notice);
    }

    private async Task<NewDelivery?> QueueAsync(string idPrefix, string kind, string to, string subject, string text, string html,
        CancellationToken cancellationToken)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress(pickup.PracticeName + " secure mail", "MAILER-DAEMON@" + gateway.HostName));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Date = time.GetUtcNow();
        message.MessageId = MimeUtils.GenerateMessageId(gateway.HostName);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        message.Body = new MultipartAlternative { new TextPart("plain") { Text = text }, new TextPart("html") { Text = html } };

        var deliveryId = $"{idPrefix}-{kind}{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))}";
        var path = Path.Combine(spool.Outbound, deliveryId + ".eml");
        await using (var file = OwnerOnly.CreateNew(path))
        {
            await message.WriteToAsync(DsnBuilder.CrLf, file, cancellationToken);
            file.Flush(flushToDisk: true);
        }
        DirectorySync.Flush(spool.Outbound);
        return new NewDelivery(deliveryId, "", [to], path, 0, "GuardNotice", null, RequireTls: false, IsDsn: true);
    }

    private const string CrLf = "\r\n";

    private static string Lines(params string?[] lines) => string.Join("\r\n", lines.Where(l => l is not null)) + "\r\n";

    private static string Html(string body) => $"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
        <body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
        <div style="max-width:560px;margin:0 auto;border:1px solid #d0d7de;border-radius:8px;padding:20px">
        {body}
        </div>
        </body></html>
        """;
}
