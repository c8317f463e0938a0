using System.Globalization;
using System.Net;
using System.Text;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.PickupWeb;

/// <summary>
/// The recipient's pages, rendered on the server as plain HTML: no script at all, one stylesheet
/// from our own origin, every value HTML-encoded. Words are plain and short; each page says what
/// happened and what to do next.
/// </summary>
public sealed class PickupPages(PickupOptions options)
{
    private static string H(string? s) => WebUtility.HtmlEncode(s ?? "");

    public string Layout(string title, string body) =>
        Layout(title, body, "Secure file pickup", $"Files sent to you by {options.PracticeName}. They are kept encrypted and are removed when the link expires.");

    /// <param name="strap">The line under the practice's name in the header.</param>
    public string Layout(string title, string body, string strap, string footer)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
          .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
          .Append("<meta name=\"robots\" content=\"noindex, nofollow\">\n")
          .Append("<title>").Append(H(title)).Append(" – ").Append(H(options.PracticeName)).Append("</title>\n")
          .Append("<link rel=\"stylesheet\" href=\"/static/site.css\">\n</head>\n<body>\n")
          .Append("<header class=\"site\"><div><span class=\"practice\">").Append(H(options.PracticeName))
          .Append("</span><span class=\"secure\">").Append(H(strap)).Append("</span></div></header>\n")
          .Append("<main>\n<div class=\"card\">\n").Append(body).Append("</div>\n</main>\n")
          .Append("<footer>").Append(H(footer)).Append("</footer>\n</body>\n</html>\n");
        return sb.ToString();
    }

    public static string Mask(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0) return "your email address";
        return address[0] + "•••" + address[at..];
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} bytes",
        < 1024 * 1024 => (bytes / 1024.0).ToString("0", CultureInfo.InvariantCulture) + " KB",
        < 1024L * 1024 * 1024 => (bytes / (1024.0 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MB",
        _ => (bytes / (1024.0 * 1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " GB",
    };

    public static string Kind(PickupFile file) => file.ContentType switch
    {
        "image/jpeg" => "JPEG image",
        "image/png" => "PNG image",
        "image/tiff" => "TIFF image",
        "application/dicom" => "DICOM image",
        "message/rfc822" => "Email message",
        "application/zip" or "application/x-zip-compressed" => "ZIP archive",
        "application/pdf" => "PDF document",
        _ when file.Name.EndsWith(".dcm", StringComparison.OrdinalIgnoreCase) => "DICOM image",
        _ when file.Name.EndsWith(".stl", StringComparison.OrdinalIgnoreCase) => "3D scan (STL)",
        _ when file.ContentType.StartsWith("image/", StringComparison.Ordinal) => "Image",
        _ => "File",
    };

    internal static string Form(string action, string antiforgeryField, string antiforgeryToken, string inner) =>
        $"<form method=\"post\" action=\"{H(action)}\">\n<input type=\"hidden\" name=\"{H(antiforgeryField)}\" value=\"{H(antiforgeryToken)}\">\n{inner}</form>\n";

    /// <summary>
    /// The sender as people write it: the name, then the address (no quotes, no angle brackets). The
    /// address is one unit that moves to the next line whole; only an address longer than the line
    /// breaks, and then before its @ or a dot, never inside a word.
    /// </summary>
    public static string Sender(string sender)
    {
        if (!MimeKit.MailboxAddress.TryParse(sender, out var mailbox) || string.IsNullOrEmpty(mailbox.Address))
            return $"<span class=\"address\">{H(sender)}</span>";
        var address = string.Join("<wbr>", SplitBeforeSeparators(mailbox.Address).Select(H));
        return mailbox.Name is { Length: > 0 } name && !string.Equals(name, mailbox.Address, StringComparison.OrdinalIgnoreCase)
            ? $"<span class=\"sender-name\">{H(name)}</span> <span class=\"address\">{address}</span>"
            : $"<span class=\"address\">{address}</span>";
    }

    private static IEnumerable<string> SplitBeforeSeparators(string address)
    {
        var start = 0;
        for (var i = 1; i < address.Length; i++)
        {
            if (address[i] is not ('@' or '.')) continue;
            yield return address[start..i];
            start = i;
        }
        yield return address[start..];
    }

    private string Facts(PickupPackage package) =>
        $"<dl class=\"facts\">\n<dt>From</dt><dd>{Sender(package.Sender)}</dd>\n<dt>Files</dt><dd>{H(PickupNotice.Files((int)package.FileCount))}</dd>\n" +
        $"<dt>Available until</dt><dd>{H(PickupNotice.FormatExpiry(package.Expires, options))}</dd>\n</dl>\n";

    public string Landing(PickupPackage package, string token, string afField, string afToken) => Layout("Secure files", $"""
        <h1>You have secure files from {H(options.PracticeName)}</h1>
        {Facts(package)}<p>To keep them private, we first check that this is your email address. We will email a 6-digit code to <strong>{H(Mask(package.Recipient))}</strong>.</p>
        {Form($"/p/{token}/code", afField, afToken, "<button type=\"submit\">Email me a code</button>\n")}<p class="small">Already have a code? <a href="/p/{H(token)}/verify">Enter your code</a>. Already entered it? <a href="/p/{H(token)}/files">Go to your files</a>.</p>

        """);

    public string Verify(PickupPackage package, string token, string afField, string afToken, string? error, bool justSent) => Layout("Enter your code", $"""
        <h1>Enter your code</h1>
        {(error is null ? "" : $"<p class=\"alert\" role=\"alert\">{H(error)}</p>\n")}{(justSent ? $"<p class=\"notice\" role=\"status\">We sent a code to <strong>{H(Mask(package.Recipient))}</strong>.</p>\n" : "")}<p>Check your email for a 6-digit code. It works for {(int)options.CodeLifetime.TotalMinutes} minutes. If you cannot find it, look in your spam or junk folder.</p>
        {Form($"/p/{token}/verify", afField, afToken, """
        <label for="code">6-digit code <span class="hint">From the email we just sent you</span></label>
        <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" required autofocus>
        <button type="submit">Continue</button>

        """)}<p class="small">No email after a few minutes?</p>
        {Form($"/p/{token}/code", afField, afToken, "<button type=\"submit\" class=\"secondary\">Send a new code</button>\n")}
        """);

    /// <param name="dicomPreviews">Indexes of the DICOM files whose picture the server can render.</param>
    public string Files(PickupPackage package, string token, IReadOnlyList<PickupFile> files, IReadOnlySet<int>? dicomPreviews = null)
    {
        var list = new StringBuilder();
        foreach (var f in files)
        {
            list.Append("<li>\n");
            if (f.CanPreview || dicomPreviews?.Contains(f.Index) == true)
                list.Append($"<div class=\"preview\"><img src=\"/p/{H(token)}/files/{f.Index}/preview\" alt=\"Preview of {H(f.Name)}\"></div>\n");
            var left = f.DownloadsLeft(package);
            var opensWith = f.IsDicom ? $"<p class=\"small opens-with\">{H(DicomHint)}</p>\n" : "";
            list.Append($"<div class=\"name\">{H(f.Name)}</div>\n<div class=\"meta\">{H(Kind(f))} · {H(Size(f.Size))} · {H(DownloadsLeftText(left, package.MaxDownloads))}</div>\n{opensWith}");
            list.Append(left > 0
                ? $"<a class=\"button secondary\" href=\"/p/{H(token)}/files/{f.Index}\" download>Download<span class=\"visually-hidden\"> {H(f.Name)}</span></a>\n</li>\n"
                : "<p class=\"small\">This file has been downloaded the most times allowed.</p>\n</li>\n");
        }
        var all = files.Count > 1 && files.All(f => f.DownloadsLeft(package) > 0)
            ? $"<p><a class=\"button\" href=\"/p/{H(token)}/all.zip\" download>Download all ({H(PickupNotice.Files(files.Count))}, zip)</a></p>\n"
            : "";
        return Layout("Your files", $"""
            <h1>Your files from {H(options.PracticeName)}</h1>
            <p>Available until <strong>{H(PickupNotice.FormatExpiry(package.Expires, options))}</strong>. Each file can be downloaded {package.MaxDownloads} {(package.MaxDownloads == 1 ? "time" : "times")}.</p>
            <ul class="files">
            {list}</ul>
            {all}<p class="small">Save the files somewhere private. Each download counts towards that file’s limit (the zip counts for every file in it); looking at a preview does not.</p>

            """);
    }

    /// <summary>What opens a DICOM file, in words a patient follows; no product is named (the practice may prefer its own).</summary>
    public const string DicomHint =
        "This is a DICOM file, the standard format for X-rays. To open it, use a DICOM viewer: free viewers exist for Windows, Mac, phones and in the web browser, and your dentist’s imaging software opens it too.";

    private static string DownloadsLeftText(long left, long max) => $"{left} of {max} {(max == 1 ? "download" : "downloads")} left";

    public string FileUsedUp(PickupPackage package, string token) => Layout("Download limit reached", $"""
        <h1>This file has been downloaded the most times allowed</h1>
        <p>Each file can be downloaded {package.MaxDownloads} {(package.MaxDownloads == 1 ? "time" : "times")}. The other files are still available.</p>
        <p><a class="button" href="/p/{H(token)}/files">Back to your files</a></p>

        """);

    public string NotFound() => Layout("Link not found", """
        <h1>We can’t find these files</h1>
        <p>The link may be incomplete. Open it again from the email, or copy the whole address into your browser.</p>

        """);

    public string Gone(PickupPackage package, PackageAvailability why)
    {
        var (title, text) = why switch
        {
            PackageAvailability.Expired => ("This link has expired", $"The files were available until {PickupNotice.FormatExpiry(package.Expires, options)}. For your privacy they have been removed."),
            PackageAvailability.Revoked => ("This link has been withdrawn", $"{options.PracticeName} has withdrawn these files."),
            PackageAvailability.DownloadsUsed => ("This link has been used up", $"Every file was downloaded the most times allowed ({package.MaxDownloads})."),
            _ => ("These files are no longer available", "They have been removed from the secure store."),
        };
        var contact = options.PracticeContact is { Length: > 0 } c ? c : package.Sender;
        return Layout(title, $"""
            <h1>{H(title)}</h1>
            <p>{H(text)}</p>
            <p>If you still need them, please contact {H(options.PracticeName)} at <strong>{H(contact)}</strong>. They can send them again.</p>

            """);
    }

    public string Locked(DateTimeOffset until) => Layout("Locked for now", $"""
        <h1>Too many wrong codes</h1>
        <p class="alert" role="alert">For your security, this link is locked until {H(options.Times().TimeOfDay(until))} (about {(int)Math.Ceiling(options.Lockout.TotalMinutes)} minutes).</p>
        <p>After that, open the link from your email again and ask for a new code.</p>

        """);

    public string TooManyCodes(string token) => Layout("Please use your code", $"""
        <h1>We have already sent you several codes</h1>
        <p>Please use the newest code in your email. You can ask for another one in an hour.</p>
        <p><a class="button" href="/p/{H(token)}/verify">Enter your code</a></p>

        """);

    public string TooManyRequests() => Layout("Please wait", """
        <h1>Please wait a moment</h1>
        <p>There were too many requests in a short time. Wait a minute, then try again.</p>

        """);

    public string FormExpired(string token) => Layout("Please try again", $"""
        <h1>This page has expired</h1>
        <p>For your security, forms work only for a while. Please start again.</p>
        <p><a class="button" href="/p/{H(token)}">Start again</a></p>

        """);

    public string CannotSend() => Layout("Please try again later", """
        <h1>We could not send the code just now</h1>
        <p>Please try again in a few minutes.</p>

        """);

    public string Error() => Layout("Something went wrong", """
        <h1>Something went wrong</h1>
        <p>Please try again in a few minutes. If it keeps happening, contact the sender of the email.</p>

        """);

    public string Home() => Layout("Secure file pickup", $"""
        <h1>Secure file pickup</h1>
        <p>{H(options.PracticeName)} uses this page to send files securely. Please open the link from the email you received.</p>

        """);

    public string Status(int code) => code switch
    {
        404 => NotFound(),
        429 => TooManyRequests(),
        _ => Error(),
    };
}
