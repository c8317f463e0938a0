using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

/// <summary>
/// Third stage: hands the recipients of each action to that action's protector and collects the
/// outbound copies; recipients of a Reject rule are set aside for a DSN. An action without a
/// protector (not built or not configured) holds the message rather than sending it some other way.
/// </summary>
public sealed class ProtectionStage(IEnumerable<IProtector> protectors) : IPipelineStage
{
    private readonly Dictionary<RoutingAction, IProtector> _protectors = protectors.ToDictionary(p => p.Action);

    public string Name => "Protection";

    public async Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken)
    {
        if (context.Decisions.Count == 0) return StageResult.Hold("no routing decisions");
        foreach (var group in context.Decisions.Values.GroupBy(d => d.Action!.Value).OrderBy(g => g.Key))
        {
            if (group.Key == RoutingAction.Reject)
            {
                foreach (var decision in group)
                    context.Rejections.Add((decision.Recipient, decision.Rule!.Message ?? $"Refused by the practice's mail policy (rule {decision.Rule.Name})."));
                continue;
            }
            if (!_protectors.TryGetValue(group.Key, out var protector))
                return StageResult.Hold($"no protection available for action {group.Key}");
            context.Outbound.AddRange(await protector.ProtectAsync(context, group.ToList(), cancellationToken));
        }
        return context.Outbound.Count == 0
            ? StageResult.Reject(context.Rejections[0].Message)
            : StageResult.Deliver;
    }
}
