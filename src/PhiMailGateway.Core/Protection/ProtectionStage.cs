using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Protection;

/// <summary>
/// Third stage: hands the recipients of each action to that action's protector and returns the
/// outbound copies; recipients of a Reject rule get none (the plan lists them for the DSN). An
/// action without a protector (not built or not configured) holds the message rather than sending
/// it some other way. When the stage does not hand on its copies (a protector threw, timed out, or
/// an action has no protector), it removes the files it made first.
/// </summary>
public sealed class ProtectionStage(IEnumerable<IProtector> protectors)
{
    public const string Name = "Protection";

    private readonly Dictionary<RoutingAction, IProtector> _protectors = protectors.ToDictionary(p => p.Action);

    /// <param name="deliveryIdPrefix">What each copy's delivery id starts with: the queue id, or a released hold's id.</param>
    public async Task<StageOutput<ProtectedCopies>> ProtectAsync(SpoolEntry message, MessageHeaders headers, InspectionReport report, RoutingPlan plan,
        string deliveryIdPrefix, CancellationToken cancellationToken)
    {
        var work = new ProtectionWork(message, headers, report, plan.SubjectTags, deliveryIdPrefix);
        var copies = new List<OutboundCopy>();
        try
        {
            foreach (var group in plan.Decisions.Values.Where(d => d.Action != RoutingAction.Reject).GroupBy(d => d.Action!.Value).OrderBy(g => g.Key))
            {
                if (!_protectors.TryGetValue(group.Key, out var protector))
                {
                    work.DeleteGenerated();
                    return StageResult.Hold($"no protection available for action {group.Key}");
                }
                copies.AddRange(await protector.ProtectAsync(work, group.ToList(), cancellationToken));
            }
        }
        catch
        {
            work.DeleteGenerated();
            throw;
        }
        if (!EachRecipientInOneCopy(plan, copies))
        {
            // A recipient without a copy would vanish without a DSN, one with two would get the message twice.
            work.DeleteGenerated();
            return StageResult.Hold("protection did not give each recipient exactly one copy");
        }
        return new ProtectedCopies(copies.ToArray(), work.GeneratedFiles);
    }

    private static bool EachRecipientInOneCopy(RoutingPlan plan, List<OutboundCopy> copies)
    {
        var sent = copies.SelectMany(c => c.Recipients).ToList();
        var expected = plan.Decisions.Values.Where(d => d.Action != RoutingAction.Reject).Select(d => d.Recipient).ToList();
        return sent.Count == expected.Count && sent.ToHashSet(StringComparer.OrdinalIgnoreCase).SetEquals(expected);
    }
}
