using System.Globalization;
using System.Net;
using MimeKit;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The words the recipient reads in the relayed mail instead of the attachments. Deliberately
/// generic: the practice, how many files, the link and the expiry, never a file name, a subject or
/// anything about the patient (the mail crosses the internet in the clear).
/// </summary>
public static class PickupNotice
{
    /// <summary>The expiry in the practice's zone, with its abbreviation (<c>Pickup:TimeZone</c>).</summary>
    public static string FormatExpiry(DateTimeOffset expires, PickupOptions options) => options.Times().DateAndTime(expires);

    public static string Files(int count) => count == 1 ? "1 file" : $"{count.ToString(CultureInfo.InvariantCulture)} files";

    /// <summary>multipart/alternative with the notice in plain text and HTML.</summary>
    public static MimeEntity Build(PickupOptions options, int fileCount, string link, DateTimeOffset expires, bool restOfMessageFollows)
    {
        var practice = options.PracticeName;
        var files = Files(fileCount);
        var them = fileCount == 1 ? "it" : "them";
        var expiry = FormatExpiry(expires, options);
        // "at", not brackets: a phone number is usually written "(555) 010-0100", and wrapping it in
        // brackets again gave "((555) 010-0100)" (issue 22).
        var contact = options.PracticeContact is { Length: > 0 } c ? $" at {c.Trim()}" : "";
        var text = $"""
            {practice} has sent you {files} securely.

            For your privacy, {(fileCount == 1 ? "the file is" : "the files are")} not attached to this email. To open {them}:

              1. Open this link: {link}
              2. Choose "Email me a code". We send a 6-digit code to this email address.
              3. Enter the code, then view or download {them}.

            The link works until {expiry}; each file can be downloaded up to {options.MaxDownloads} {(options.MaxDownloads == 1 ? "time" : "times")}.
            Questions? Reply to this email or contact {practice}{contact}.
            {(restOfMessageFollows ? "\nThe rest of the message follows below.\n" : "")}
            """.Replace("\n", "\r\n", StringComparison.Ordinal);

        string H(string s) => WebUtility.HtmlEncode(s);
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"></head>
            <body style="margin:0;padding:16px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;background:#ffffff">
            <div style="max-width:560px;margin:0 auto;border:1px solid #d0d7de;border-radius:8px;padding:20px">
            <p style="margin:0 0 12px;font-size:18px"><strong>{H(practice)} has sent you {H(files)} securely.</strong></p>
            <p style="margin:0 0 16px">For your privacy, {(fileCount == 1 ? "the file is" : "the files are")} not attached to this email.</p>
            <p style="margin:0 0 20px"><a href="{H(link)}" style="display:inline-block;background:#0b5cad;color:#ffffff;text-decoration:none;padding:12px 20px;border-radius:6px;font-weight:bold">Open secure files</a></p>
            <ol style="margin:0 0 16px;padding-left:20px">
            <li>Open the link above.</li>
            <li>Choose &ldquo;Email me a code&rdquo;. We send a 6-digit code to this email address.</li>
            <li>Enter the code, then view or download {them}.</li>
            </ol>
            <p style="margin:0 0 8px">The link works until <strong>{H(expiry)}</strong>; each file can be downloaded up to {options.MaxDownloads} {(options.MaxDownloads == 1 ? "time" : "times")}.</p>
            <p style="margin:0 0 8px;font-size:14px;color:#444">If the button does not work, copy this address into your browser:<br><span style="word-break:break-all">{H(link)}</span></p>
            <p style="margin:0;font-size:14px;color:#444">Questions? Reply to this email or contact {H(practice)}{H(contact)}.</p>
            </div>
            {(restOfMessageFollows ? "<p style=\"max-width:560px;margin:12px auto 0;font-size:14px;color:#444\">The rest of the message follows below.</p>" : "")}
            </body></html>
            """;
        return new MultipartAlternative
        {
            new TextPart("plain") { Text = text },
            new TextPart("html") { Text = html },
        };
    }
}
