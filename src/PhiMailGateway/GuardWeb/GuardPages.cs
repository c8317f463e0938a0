using System.Net;
using System.Text;
using PhiMailGateway.Guard;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.GuardWeb;

/// <summary>
/// The sender's page for copies the guard held: each held address with its reasons in plain
/// words, and per address "Send anyway" (with an optional reason) and "Don't send", as POST forms.
/// Same look and rules as the pickup pages (no script, our own stylesheet, every value encoded);
/// never a subject, a file name or a patient.
/// </summary>
public sealed class GuardPages(PickupPages layout, PickupOptions options)
{
    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    private string Page(string title, string body) => layout.Layout(title, body, "Secure mail: address check",
        $"The secure mail gateway of {options.PracticeName} holds mail with images when an address may be a mistake.");

    public string Held(IReadOnlyList<GuardHold> holds, string token, string afField, string afToken, DateTimeOffset now, string? done)
    {
        var sb = new StringBuilder();
        var waiting = holds.Count(h => h.State == GuardHoldStates.Held && !h.IsExpired(now));
        sb.Append(waiting > 0
            ? "<h1>Please check the address</h1>\n<p>Your message with images was not sent to the address below yet, because it may be a mistake.</p>\n"
            : "<h1>Address check</h1>\n<p>Nothing is waiting for you here any more.</p>\n");
        if (done is "sent") sb.Append("<p class=\"notice\" role=\"status\">Thank you. It is being sent now.</p>\n");
        if (done is "cancelled") sb.Append("<p class=\"notice\" role=\"status\">Thank you. It will not be sent. Send the message again to the right address.</p>\n");
        if (done is "late") sb.Append("<p class=\"alert\" role=\"alert\">This was decided already, or the time to decide has passed.</p>\n");

        sb.Append("<ul class=\"held\">\n");
        foreach (var hold in holds)
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
                    + $"<label for=\"reason-{id}\">Why this address is right <span class=\"hint\">(optional, kept in the practice's records)</span></label>\n"
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
        sb.Append("</ul>\n");
        return Page(waiting > 0 ? "Please check the address" : "Address check", sb.ToString());
    }

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
