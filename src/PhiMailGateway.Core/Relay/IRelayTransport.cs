namespace PhiMailGateway.Relay;

/// <summary>
/// One way for mail to leave the gateway (outbox folder or smarthost). A transport never throws for
/// delivery trouble: it reports an outcome per recipient. A dropped connection or failed TLS
/// defers every recipient of the attempt; nothing ever falls back to plaintext.
/// </summary>
public interface IRelayTransport
{
    Task<IReadOnlyList<RecipientOutcome>> SendAsync(RelayRequest request, CancellationToken cancellationToken);
}

/// <param name="DeliveryId">Outbound queue id, for logs.</param>
/// <param name="Sender">Reverse-path; empty for a DSN.</param>
/// <param name="Recipients">Forward-paths still pending for this delivery.</param>
/// <param name="OpenContent">Opens the exact bytes to send (headers and body, CRLF line ends), streamed from disk.</param>
/// <param name="RequireTls">RequireTls rule: only over verified TLS, whatever the transport's own setting.</param>
/// <param name="QueuedAt">When the copy was queued: direct delivery takes the fallback once it has failed for <c>Direct:FallbackAfter</c>.</param>
public sealed record RelayRequest(
    string DeliveryId,
    string Sender,
    IReadOnlyList<string> Recipients,
    Func<Stream> OpenContent,
    bool RequireTls,
    DateTimeOffset? QueuedAt = null);

public enum RecipientStatus
{
    Delivered,
    Deferred,
    Failed,

    /// <summary>
    /// Direct delivery could not verify the recipient's TLS (or kept failing past Direct:FallbackAfter):
    /// nothing was sent, and the copy is made again the way the rule's <c>Fallback</c> says.
    /// </summary>
    Fallback,
}

/// <param name="Code">SMTP reply code from upstream; 0 when there was no reply (connection trouble).</param>
/// <param name="Response">Upstream reply text or our own diagnostic; may carry addresses, so log it at Debug only.</param>
/// <param name="Method">How a directly delivered copy was protected, for the audit: <c>DirectTls(dane) mx=… tls=Tls13 cert=sha256:…</c>.</param>
public sealed record RecipientOutcome(string Recipient, RecipientStatus Status, int Code, string Response, string? Method = null);
