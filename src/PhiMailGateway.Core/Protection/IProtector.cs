using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

/// <summary>
/// Turns the recipients routed to one action into outbound copies: unchanged (Relay, RequireTls),
/// encrypted (Smime), or with the protected parts moved to a pickup package (Pickup). A protector
/// names each copy with <see cref="ProtectionWork.NextDeliveryId"/>, writes new content into
/// <c>spool/outbound</c> and lists every file it writes with the work. It parses the message itself
/// when it needs it parsed (no parse is shared between protectors). It throws when it cannot
/// protect; the pipeline then defers the message, so nothing leaves unprotected.
/// </summary>
public interface IProtector
{
    RoutingAction Action { get; }

    Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken);
}
