using System.Net;
using System.Text;
using PhiMailGateway.Guard;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.GuardWeb;

/// <summary>
/// The sender's page of one message: each held address with its reasons in plain words and
/// "Send anyway" (with an optional reason) / "Don't send"; each copy with how it went, "Recall" while
/// it waits out the send delay, "Revoke" for a pickup link not yet opened. All as POST forms.
/// Same look and rules as the pickup pages (no script, our own stylesheet, every value encoded);
/// never a subject, a file name or a patient.
/// </summary>
public sealed class GuardPages(PickupPages layout, PickupOptions options)
{
    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private string Page(string title, string body) => layout.Layout(title, body, "Secure mail: address check",
        $"The secure mail gateway of {options.PracticeName} holds mail with images for the sender to confirm when an address may be a mistake or a rule of the practice asks.");

    public string Sender(SenderView view, string token, string afField, string afToken, DateTimeOffset now, string? done)
    {
        var sb = new StringBuilder();
        var waiting = view.Holds.Count(h => h.State == GuardHoldStates.Held && !h.IsExpired(now));
        var recallable = view.Copies.Where(c => c.Recallable).ToList();
        var revocable = view.Packages.Where(p => p.State == PackageStates.Active && !p.Opened && p.ExpiresAt > now.ToUnixTimeMilliseconds()).ToList();
        var waitingByRule = view.Holds.Where(h => h.State == GuardHoldStates.Held && !h.IsExpired(now)).All(h => h.HeldByRuleAlone);
        var title = waiting == 0 ? "Your message with images" : waitingByRule ? "Your message is waiting for you" : "Please check the address";
        sb.Append("<h1>").Append(H(title)).Append("</h1>\n");
        sb.Append(done switch
        {
            "sent" => "<p class=\"notice\" role=\"status\">Thank you. It is being sent now.</p>\n",
            "cancelled" => "<p class=\"notice\" role=\"status\">Thank you. It will not be sent. Send the message again to the right address.</p>\n",
            "recalled" => "<p class=\"notice\" role=\"status\">Recalled. That copy will not be sent.</p>\n",
            "revoked" => "<p class=\"notice\" role=\"status\">Revoked. The pickup link no longer opens the files.</p>\n",
            "late" => "<p class=\"alert\" role=\"alert\">Too late for that: it was decided already, has left, or its time has passed.</p>\n",
            _ => "",
        });

        if (view.Holds.Count > 0)
        {
            if (waiting > 0)
                sb.Append(waitingByRule
                    ? "<p>It was not sent to the address below yet: a rule of the practice asks you first. Sent anyway, it goes as a secure pickup link.</p>\n"
                    : "<p>It was not sent to the address below yet, because the address may be a mistake.</p>\n");
            sb.Append("<ul class=\"held\">\n");
            foreach (var hold in view.Holds) AppendHold(sb, hold, token, afField, afToken, now);
            sb.Append("</ul>\n");
        }

        if (view.Copies.Count > 0)
        {
            sb.Append("<h2>How it was sent</h2>\n<ul class=\"held\">\n");
            foreach (var copy in view.Copies)
            {
                sb.Append("<li>\n<div class=\"address\">").Append(H(copy.Recipient)).Append("</div>\n<p class=\"small\">")
                  .Append(H(CopyText(copy))).Append("</p>\n");
                if (copy.Recallable)
                {
                    sb.Append(PickupPages.Form($"/g/{token}/recall", afField, afToken,
                        $"<input type=\"hidden\" name=\"delivery\" value=\"{H(copy.DeliveryId)}\">\n"
                        + $"<button type=\"submit\" class=\"danger\">Recall (it leaves at {H(options.Times().DateAndTime(DateTimeOffset.FromUnixTimeMilliseconds(copy.NotBefore)))})</button>\n"));
                }
                foreach (var package in revocable.Where(p => string.Equals(p.Recipient, copy.Recipient, StringComparison.OrdinalIgnoreCase) && !copy.Recallable))
                {
                    sb.Append(PickupPages.Form($"/g/{token}/revoke", afField, afToken,
                        $"<input type=\"hidden\" name=\"package\" value=\"{H(package.PackageId)}\">\n"
                        + "<button type=\"submit\" class=\"danger\">Revoke the pickup link</button>\n"));
                    sb.Append("<p class=\"small\">Not opened yet. Revoke if it went to the wrong person: the link stops working at once.</p>\n");
                }
                sb.Append("</li>\n");
            }
            sb.Append("</ul>\n");
        }
        if (waiting == 0 && recallable.Count == 0 && revocable.Count == 0)
            sb.Append("<p>Nothing here needs you any more.</p>\n");
        return Page(title, sb.ToString());
    }

    private void AppendHold(StringBuilder sb, GuardHold hold, string token, string afField, string afToken, DateTimeOffset now)
    {
        sb.Append("<li>\n<div class=\"address\">").Append(H(hold.Recipient)).Append("</div>\n");
        sb.Append("<ul class=\"reasons\">\n");
        foreach (var reason in hold.ReasonLines) sb.Append("<li>").Append(H(reason)).Append("</li>\n");
        sb.Append("</ul>\n");
        if (hold.State == GuardHoldStates.Held && !hold.IsExpired(now))
        {
            var id = H(hold.HoldId);
            sb.Append("<div class=\"button-row\">\n");
            sb.Append(PickupPages.Form($"/g/{token}/send", afField, afToken,
                $"<input type=\"hidden\" name=\"hold\" value=\"{id}\">\n"
                + $"<label for=\"reason-{id}\">{(hold.HeldByRuleAlone ? "Why it should go" : "Why this address is right")} <span class=\"hint\">(optional, kept in the practice's records)</span></label>\n"
                + $"<textarea id=\"reason-{id}\" name=\"reason\" maxlength=\"{GuardDecisions.MaxReasonLength}\"></textarea>\n"
                + "<button type=\"submit\">Send anyway</button>\n"));
            sb.Append(PickupPages.Form($"/g/{token}/cancel", afField, afToken,
                $"<input type=\"hidden\" name=\"hold\" value=\"{id}\">\n<button type=\"submit\" class=\"danger\">Don&rsquo;t send</button>\n"));
            sb.Append("</div>\n<p class=\"small\">Decide by ").Append(H(options.Times().DateAndTime(DateTimeOffset.FromUnixTimeMilliseconds(hold.ExpiresAt))))
              .Append("; after that it is not sent.</p>\n");
        }
        else
        {
            sb.Append("<p class=\"small\">").Append(H(StateText(hold, now))).Append("</p>\n");
        }
        sb.Append("</li>\n");
    }

    private static string CopyText(SenderCopy copy) => copy.Status switch
    {
        "Failed" => "Not delivered (recalled by you, or refused by their mail server).",
        "Delivered" => Capital(GuardNotices.How(copy.Action)) + "; delivered.",
        _ => Capital(GuardNotices.How(copy.Action)) + ".",
    };

    private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];

    public static string StateText(GuardHold hold, DateTimeOffset now) => hold.State switch
    {
        GuardHoldStates.Held when hold.IsExpired(now) => "Not sent: the time to decide has passed.",
        GuardHoldStates.Released or GuardHoldStates.Sent => "Sent anyway" + (hold.DecidedBy == "sender" ? "." : " by IT."),
        GuardHoldStates.Cancelled => "Not sent" + (hold.DecidedBy == "sender" ? " (you chose Don't send)." : " (cancelled by IT)."),
        GuardHoldStates.Expired => "Not sent: the time to decide passed.",
        _ => "Waiting.",
    };

    public string NotFound() => Page("Link not found", """
        <h1>We can’t find this page</h1>
        <p>The link may be incomplete. Open it again from the email, or copy the whole address into your browser.</p>

        """);

    public string FormExpired(string token) => Page("Please try again", $"""
        <h1>This page has expired</h1>
        <p>For your security, forms work only for a while. Please open the page again and choose once more.</p>
        <p><a class="button" href="/g/{H(token)}">Open the page again</a></p>

        """);
}
