using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

/// <summary>
/// Relay and RequireTls: the message goes out as received, one copy for all such recipients (SMTP
/// keeps each envelope recipient to itself). Only when a Bcc header or a subject tag must go is a
/// rewritten copy written instead.
/// </summary>
public sealed class PassThroughProtector(RoutingAction action, OutboundMessageWriter writer) : IProtector
{
    public RoutingAction Action { get; } = action is RoutingAction.Relay or RoutingAction.RequireTls
        ? action
        : throw new ArgumentOutOfRangeException(nameof(action), action, "Only Relay and RequireTls pass content through.");

    public async Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken)
    {
        var requireTls = Action == RoutingAction.RequireTls;
        // One copy per rule, so the audit and the queue name the rule that sent it.
        var copies = new List<OutboundCopy>();
        var content = OutboundMessageWriter.CanRelayUnchanged(work)
            ? new OutboundContent(work.Message.Path, work.Message.MessageOffset)
            : await RewriteAsync(work, cancellationToken);
        foreach (var group in recipients.GroupBy(d => d.Rule!.Name))
        {
            copies.Add(new OutboundCopy(work.NextDeliveryId(), group.Select(d => d.Recipient).ToList(), content, Action.ToString(), group.Key, requireTls));
        }
        return copies;
    }

    private async Task<OutboundContent> RewriteAsync(ProtectionWork work, CancellationToken cancellationToken)
    {
        await using var loaded = await OutboundMessageWriter.LoadAsync(work.Message, cancellationToken);
        OutboundMessageWriter.PrepareHeaders(loaded.Message, work.SubjectTags);
        return await writer.WriteAsync(work, loaded.Message, Action.ToString().ToLowerInvariant(), cancellationToken);
    }
}
