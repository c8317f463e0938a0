using MimeKit;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// The header facts the later stages need, read once from the queued message before anything else:
/// routing matches on Subject and Sensitivity, protection strips Bcc and subject tags, the audit
/// names the Message-ID and the recipients' display names (HIPAA 164.528 asks for the name).
/// Subject, names and addresses are patient-adjacent data: never log them.
/// </summary>
public sealed record MessageHeaders
{
    /// <summary>Headers that could not be read: every field empty, so rules see no subject and the audit names no Message-ID.</summary>
    public static readonly MessageHeaders Unreadable = new();

    /// <summary>The Message-ID without its angle brackets; null when absent or unreadable.</summary>
    public string? MessageId { get; init; }

    /// <summary>The decoded Subject header, or null.</summary>
    public string? Subject { get; init; }

    /// <summary>Outlook's <c>Sensitivity:</c> header (Personal, Private, Company-Confidential), as sent.</summary>
    public string? Sensitivity { get; init; }

    /// <summary>Addresses in the From, To and Cc headers (groups flattened). Bcc is only in the envelope.</summary>
    public IReadOnlyList<string> From { get; init; } = [];
    public IReadOnlyList<string> To { get; init; } = [];
    public IReadOnlyList<string> Cc { get; init; } = [];

    /// <summary>Display names given in To and Cc, by address (case-insensitive); the first name given wins.</summary>
    public IReadOnlyDictionary<string, string> RecipientNames { get; init; } = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The message carries a Bcc (or Resent-Bcc) header, which no outbound copy may keep.</summary>
    public bool HasBccHeader { get; init; }

    /// <summary>Whether the subject carries one of the tags that triggered rules (such as <c>[secure]</c>).</summary>
    public bool SubjectHasAnyTag(IReadOnlyList<string> tags) =>
        Subject is { } subject && tags.Any(t => subject.Contains(t, StringComparison.OrdinalIgnoreCase));

    public static async Task<MessageHeaders> ReadAsync(SpoolEntry message, CancellationToken cancellationToken)
    {
        await using var stream = message.OpenMessage();
        return await ReadAsync(stream, cancellationToken);
    }

    /// <summary>Reads only the header block; the body is not parsed. I/O trouble throws (the message is tried again).</summary>
    public static async Task<MessageHeaders> ReadAsync(Stream message, CancellationToken cancellationToken)
    {
        HeaderList headers;
        try
        {
            headers = await HeaderList.LoadAsync(ParserOptions.Default, message, cancellationToken);
        }
        catch (FormatException)
        {
            // MimeKit's ParseException is a FormatException. Inspection then fails closed on the
            // same bytes; here the fields stay empty.
            return Unreadable;
        }

        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var to = Addresses(headers, HeaderId.To, names);
        var cc = Addresses(headers, HeaderId.Cc, names);
        return new MessageHeaders
        {
            MessageId = headers[HeaderId.MessageId] is { } raw ? MimeKit.Utils.MimeUtils.EnumerateReferences(raw).FirstOrDefault() ?? raw.Trim() : null,
            Subject = headers[HeaderId.Subject],
            Sensitivity = headers["Sensitivity"]?.Trim(),
            From = Addresses(headers, HeaderId.From, null),
            To = to,
            Cc = cc,
            RecipientNames = names,
            HasBccHeader = headers.Contains(HeaderId.Bcc) || headers.Contains(HeaderId.ResentBcc),
        };
    }

    /// <summary>Every mailbox of every header of this kind, as MimeMessage would list them; an unparsable header adds none.</summary>
    private static List<string> Addresses(HeaderList headers, HeaderId id, Dictionary<string, string>? names)
    {
        var addresses = new List<string>();
        foreach (var header in headers.Where(h => h.Id == id))
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, header.RawValue, out var list)) continue;
            foreach (var mailbox in list.Mailboxes)
            {
                if (string.IsNullOrEmpty(mailbox.Address)) continue;
                addresses.Add(mailbox.Address);
                if (names is not null && !string.IsNullOrWhiteSpace(mailbox.Name)) names.TryAdd(mailbox.Address, mailbox.Name.Trim());
            }
        }
        return addresses;
    }
}
