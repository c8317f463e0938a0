using System.Globalization;

namespace PhiMailGateway.Ingress;

/// <summary>An envelope address as the gateway keeps and relays it: ASCII only, the domain in A-label form.</summary>
public readonly record struct Mailbox(string LocalPart, string Domain)
{
    public string Address => LocalPart + "@" + Domain;
}

/// <summary>The argument of MAIL or RCPT: the address (null for the empty reverse-path) and the ESMTP parameters after it.</summary>
internal readonly record struct SmtpPath(Mailbox? Mailbox, string Parameters);

/// <summary>
/// Parses "FROM:&lt;path&gt; params" and "TO:&lt;path&gt; params" into addresses the relay can use.
/// Refused here, because they could never be relayed correctly: quoted local parts (553 5.1.3) and,
/// with SMTPUTF8 not offered, non-ASCII local parts (553 5.6.7, RFC 6531). A U-label domain is
/// converted to its A-label (xn--) form, so the smarthost gets a domain it can resolve; one that is
/// not a valid IDN is refused (553 5.1.3).
/// </summary>
internal static class SmtpPathParser
{
    public static readonly SmtpReply BadSyntax = new(501, "5.1.3 Bad address syntax");
    public static readonly SmtpReply QuotedLocalPart = new(553, "5.1.3 quoted local parts are not supported");
    public static readonly SmtpReply NonAsciiLocalPart = new(553, "5.6.7 non-ASCII address not permitted");
    public static readonly SmtpReply BadInternationalDomain = new(553, "5.1.3 invalid international domain name");

    public static bool TryParse(string argument, string keyword, bool allowNullPath, out SmtpPath path, out SmtpReply error)
    {
        path = default;
        error = BadSyntax;
        if (!argument.StartsWith(keyword, StringComparison.OrdinalIgnoreCase))
        {
            error = new SmtpReply(501, $"5.5.4 Syntax: {keyword}<address>");
            return false;
        }
        var rest = argument.AsSpan(keyword.Length).TrimStart(' ');
        string address;
        string parameters;
        if (rest.StartsWith("<"))
        {
            var close = rest.IndexOf('>');
            if (close < 0) return false;
            var inner = rest[1..close];
            if (inner.Contains('"'))
            {
                error = QuotedLocalPart;
                return false;
            }
            address = inner.ToString();
            parameters = rest[(close + 1)..].Trim(' ').ToString();
        }
        else
        {
            // Tolerated without brackets, as many servers do; a quote here is still a quoted local part.
            var space = rest.IndexOf(' ');
            var token = space < 0 ? rest : rest[..space];
            if (token.Contains('"'))
            {
                error = QuotedLocalPart;
                return false;
            }
            address = token.ToString();
            parameters = space < 0 ? "" : rest[(space + 1)..].Trim(' ').ToString();
        }

        if (address.Length == 0)
        {
            if (!allowNullPath) return false;
            path = new SmtpPath(null, parameters);
            return true;
        }
        // A source route (RFC 5321 4.1.2 "@a,@b:user@host") must be accepted and ignored.
        if (address[0] == '@')
        {
            var colon = address.IndexOf(':');
            if (colon < 0) return false;
            address = address[(colon + 1)..];
        }
        if (!TryParseMailbox(address, out var mailbox, out error)) return false;
        path = new SmtpPath(mailbox, parameters);
        return true;
    }

    internal static bool TryParseMailbox(string address, out Mailbox mailbox, out SmtpReply error)
    {
        mailbox = default;
        error = BadSyntax;
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1) return false;
        var local = address[..at];
        var domain = address[(at + 1)..];

        if (!IsAscii(local))
        {
            error = NonAsciiLocalPart;
            return false;
        }
        if (!IsDotAtom(local)) return false;

        if (domain[0] == '[')
        {
            if (domain[^1] != ']' || !IsAscii(domain) || domain.AsSpan(1, domain.Length - 2).ContainsAny("[]\\ ")) return false;
        }
        else
        {
            if (!IsAscii(domain))
            {
                try
                {
                    domain = new IdnMapping { UseStd3AsciiRules = true }.GetAscii(domain);
                }
                catch (ArgumentException)
                {
                    error = BadInternationalDomain;
                    return false;
                }
            }
            if (!IsHostName(domain)) return false;
        }
        mailbox = new Mailbox(local, domain);
        return true;
    }

    private static bool IsAscii(string text) => System.Text.Ascii.IsValid(text);

    /// <summary>RFC 5322 dot-atom: atext runs separated by single dots.</summary>
    private static bool IsDotAtom(string local)
    {
        if (local[0] == '.' || local[^1] == '.') return false;
        var previousDot = false;
        foreach (var c in local)
        {
            if (c == '.')
            {
                if (previousDot) return false;
                previousDot = true;
                continue;
            }
            previousDot = false;
            if (!char.IsAsciiLetterOrDigit(c) && "!#$%&'*+-/=?^_`{|}~".IndexOf(c) < 0) return false;
        }
        return true;
    }

    /// <summary>Labels of letters, digits, hyphens (and underscores, which internal names use).</summary>
    private static bool IsHostName(string domain)
    {
        foreach (var label in domain.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
            }
        }
        return true;
    }
}
