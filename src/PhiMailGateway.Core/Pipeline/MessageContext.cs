using PhiMailGateway.Protection;
using PhiMailGateway.Inspection;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Pipeline;

/// <summary>Everything the stages know about one queued message, and what they decide to send.</summary>
public sealed class MessageContext : IAsyncDisposable
{
    private LoadedMessage? _parsed;

    public MessageContext(string queueId, Envelope envelope, SpoolEntry spool)
    {
        QueueId = queueId;
        Envelope = envelope;
        Spool = spool;
    }

    public string QueueId { get; }
    public Envelope Envelope { get; }
    public SpoolEntry Spool { get; }

    /// <summary>Opens the message as received (with our Received header), streamed from the spool.</summary>
    public Stream OpenMessage() => Spool.OpenMessage();

    /// <summary>What the Inspection stage found; null until it has run.</summary>
    public InspectionReport? Inspection { get; set; }

    /// <summary>Routing's decision per envelope recipient (case-insensitive), for Protection and the audit.</summary>
    public Dictionary<string, RoutingDecision> Decisions { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Subject tags of the rules in force (such as <c>[secure]</c>), stripped from every outbound copy.</summary>
    public IReadOnlyList<string> SubjectTags { get; set; } = [];

    /// <summary>Recipients a Reject rule refused, with the rule's message; the sender gets a DSN for them.</summary>
    public List<(string Recipient, string Message)> Rejections { get; } = [];

    /// <summary>The copies to relay, filled by the stages; each recipient appears in exactly one.</summary>
    public List<OutboundCopy> Outbound { get; } = [];

    /// <summary>Files a stage wrote for outbound copies; removed again if the message does not go out.</summary>
    public List<string> GeneratedFiles { get; } = [];

    /// <summary>Inspection leaves its parse here for the first protector (see <see cref="TakeParsed"/>).</summary>
    public void LendParsed(LoadedMessage parsed)
    {
        if (_parsed is not null) throw new InvalidOperationException("A parsed message is already lent.");
        _parsed = parsed;
    }

    /// <summary>The lent parse, once: the taker owns (and may change) it; later callers parse again.</summary>
    public LoadedMessage? TakeParsed()
    {
        var parsed = _parsed;
        _parsed = null;
        return parsed;
    }

    public async ValueTask DisposeAsync()
    {
        if (TakeParsed() is { } parsed) await parsed.DisposeAsync();
    }
}

/// <summary>One copy of the message to relay to some of its recipients.</summary>
/// <param name="Recipients">Who gets this copy (Bcc recipients never share a copy with others once routing exists).</param>
/// <param name="Content">The bytes to send.</param>
/// <param name="Action">Routing action that produced it (Relay, RequireTls, Smime, Pickup).</param>
/// <param name="RuleName">The rule that decided, for the audit and logs.</param>
/// <param name="RequireTls">Only over verified TLS.</param>
/// <param name="Reference">What the protection produced, for the audit: a pickup package id, a certificate thumbprint.</param>
public sealed record OutboundCopy(
    IReadOnlyList<string> Recipients,
    OutboundContent Content,
    string Action,
    string? RuleName,
    bool RequireTls,
    string? Reference = null);

/// <summary>Bytes on disk to relay: the original spool file from its message offset, or a generated file from 0.</summary>
public sealed record OutboundContent(string Path, long Offset)
{
    public Stream Open()
    {
        var stream = InlineFileStream.OpenSequential(Path);
        stream.Seek(Offset, SeekOrigin.Begin);
        return stream;
    }
}
