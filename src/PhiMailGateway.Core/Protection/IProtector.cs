using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

/// <summary>
/// Turns the recipients routed to one action into outbound copies: unchanged (Relay, RequireTls),
/// encrypted (Smime), or with the protected parts moved to a pickup package (Pickup). A protector
/// writes any new content into <c>spool/outbound</c> and lists it in
/// <see cref="MessageContext.GeneratedFiles"/>. It throws when it cannot protect; the pipeline then
/// defers the message, so nothing leaves unprotected.
/// </summary>
public interface IProtector
{
    RoutingAction Action { get; }

    Task<IReadOnlyList<OutboundCopy>> ProtectAsync(MessageContext context, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken);
}
