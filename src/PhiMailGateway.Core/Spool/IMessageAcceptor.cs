using System.Buffers;

namespace PhiMailGateway.Spool;

/// <summary>
/// The commit point of SMTP ingress: makes one message durable (spool file flushed, renamed,
/// folder synced, queue row written) and says what to answer. It never throws for trouble the
/// client can retry through: that comes back as <see cref="AcceptResult.Transient"/>, which ingress
/// turns into 451, because an exception must never become a permanent 554 for our own failure.
/// </summary>
public interface IMessageAcceptor
{
    Task<AcceptResult> AcceptAsync(Envelope envelope, ReadOnlySequence<byte> message, CancellationToken cancellationToken);
}

public abstract record AcceptResult
{
    /// <summary>Durable: answer <c>250 2.0.0 Ok: queued as {QueueId}</c>.</summary>
    public sealed record Accepted(string QueueId) : AcceptResult;

    /// <summary>Disk full, database locked and the like: answer 451 and keep nothing.</summary>
    public sealed record Transient(string Reason) : AcceptResult;

    /// <summary>The message itself is unacceptable (for example over the size limit): answer 5xx.</summary>
    public sealed record Refused(int Code, string Reason) : AcceptResult;
}
