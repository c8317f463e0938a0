namespace PhiMailGateway.Replies;

/// <summary>
/// What a recipient sent back through the pickup page (or a file-request page): text and files for
/// the practice. The addresses are never the recipient's to choose: <see cref="To"/> comes from the
/// package's record (its sender, or with Pickup:ReplyTo=SenderAndRecipients its recipients too), and
/// <see cref="From"/> is the address the recipient proved with the one-time code.
/// </summary>
/// <param name="From">The recipient who verified; the reply's Reply-To, so staff answer them directly.</param>
/// <param name="To">Practice addresses taken from the package or the file request.</param>
/// <param name="OriginalSubject">The subject replied to ("Re: " is put in front once), or the request's title.</param>
/// <param name="OriginalMessageId">The original message's Message-ID, for In-Reply-To; null for a file request.</param>
/// <param name="Text">The recipient's message, as typed.</param>
public sealed record SecureReply(
    string From,
    IReadOnlyList<string> To,
    string OriginalSubject,
    string? OriginalMessageId,
    string Text,
    IReadOnlyList<ReplyFile> Files,
    DateTimeOffset SentAt);

/// <summary>One uploaded file; <paramref name="OpenRead"/> streams its plaintext (from the encrypted upload), never whole in memory.</summary>
public sealed record ReplyFile(string Name, string ContentType, Func<CancellationToken, Task<Stream>> OpenRead);
