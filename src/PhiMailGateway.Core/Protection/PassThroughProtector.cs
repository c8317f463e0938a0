using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

/// <summary>
/// Relay, RequireTls and TlsFirst: the message goes out as received, one copy for all such
/// recipients of a rule (SMTP keeps each envelope recipient to itself); TlsFirst makes one per
/// recipient domain, since each domain's MX is reached, verified and possibly fallen back from on
/// its own. Only when a Bcc header or a subject tag must go is a rewritten copy written instead.
/// </summary>
public sealed class PassThroughProtector(RoutingAction action, OutboundMessageWriter writer) : IProtector
{
    public RoutingAction Action { get; } = action is RoutingAction.Relay or RoutingAction.RequireTls or RoutingAction.TlsFirst
        ? action
        : throw new ArgumentOutOfRangeException(nameof(action), action, "Only Relay, RequireTls and TlsFirst pass content through.");

    public async Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken)
    {
        var requireTls = Action == RoutingAction.RequireTls;
        // One copy per rule, so the audit and the queue name the rule that sent it.
        var copies = new List<OutboundCopy>();
        var content = OutboundMessageWriter.CanRelayUnchanged(work)
            ? new OutboundContent(work.Message.Path, work.Message.MessageOffset)
            : await RewriteAsync(work, cancellationToken);
        foreach (var group in recipients.GroupBy(d => (Rule: d.Rule!.Name, Domain: Action == RoutingAction.TlsFirst ? Direct.RecipientDomain.Of(d.Recipient) : "")))
        {
            copies.Add(new OutboundCopy(work.NextDeliveryId(), group.Select(d => d.Recipient).ToList(), content, Action.ToString(), group.Key.Rule, requireTls));
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
