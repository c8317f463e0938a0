namespace PhiMailGateway.Spool;

/// <summary>
/// The SMTP envelope of one accepted message, stored inside its spool file so that a rescan after
/// a crash can rebuild the queue from the files alone.
/// </summary>
/// <param name="Sender">MAIL FROM; empty for a bounce (null reverse-path).</param>
/// <param name="Recipients">RCPT TO, in the order given.</param>
/// <param name="AuthenticatedUser">The AUTH user, or null when the client relayed as a trusted network.</param>
/// <param name="ClientAddress">Remote IP address of the submitting client.</param>
/// <param name="HeloName">What the client said in EHLO/HELO.</param>
/// <param name="ReceivedAt">When the gateway accepted the message (UTC).</param>
/// <param name="Secure">Whether the session was under TLS when DATA arrived.</param>
public sealed record Envelope(
    string Sender,
    IReadOnlyList<string> Recipients,
    string? AuthenticatedUser,
    string ClientAddress,
    string? HeloName,
    DateTimeOffset ReceivedAt,
    bool Secure);
