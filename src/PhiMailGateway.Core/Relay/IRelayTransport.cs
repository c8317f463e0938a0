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
public sealed record RelayRequest(
    string DeliveryId,
    string Sender,
    IReadOnlyList<string> Recipients,
    Func<Stream> OpenContent,
    bool RequireTls);

public enum RecipientStatus
{
    Delivered,
    Deferred,
    Failed,
}

/// <param name="Code">SMTP reply code from upstream; 0 when there was no reply (connection trouble).</param>
/// <param name="Response">Upstream reply text or our own diagnostic; may carry addresses, so log it at Debug only.</param>
public sealed record RecipientOutcome(string Recipient, RecipientStatus Status, int Code, string Response);
