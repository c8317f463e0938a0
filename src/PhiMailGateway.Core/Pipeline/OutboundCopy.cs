using PhiMailGateway.Storage;

namespace PhiMailGateway.Pipeline;

/// <summary>One copy of the message to relay to some of its recipients, named by its delivery id from the moment it is made.</summary>
/// <param name="DeliveryId">The queue's delivery id (<c>{QueueId}-{n}</c>); the audit record and the queue row carry the same one.</param>
/// <param name="Recipients">Who gets this copy (Bcc recipients never share a copy with others once routing exists).</param>
/// <param name="Content">The bytes to send.</param>
/// <param name="Action">Routing action that produced it (Relay, RequireTls, Smime, Pickup).</param>
/// <param name="RuleName">The rule that decided, for the audit and logs.</param>
/// <param name="RequireTls">Only over verified TLS.</param>
/// <param name="Reference">What the protection produced, for the audit: a pickup package id, a certificate thumbprint.</param>
public sealed record OutboundCopy(
    string DeliveryId,
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
