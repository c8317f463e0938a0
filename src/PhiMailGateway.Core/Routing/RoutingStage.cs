using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Routing;

/// <summary>
/// Second stage: decides per envelope recipient (To, Cc and Bcc alike) which rule applies, from the
/// headers and the inspection report, and returns the plan. A recipient no rule matches holds the
/// message: nothing leaves on a default nobody wrote (invariant 3). While direct delivery is off
/// (<c>Direct:Enabled</c> false), a TlsFirst decision takes its rule's fallback at once.
/// </summary>
public sealed class RoutingStage(RuleSetProvider rules, RuleEngine engine, Direct.DirectOptions? direct = null)
{
    public const string DirectDisabled = "Direct:Enabled is false";

    public const string Name = "Routing";

    public async Task<StageOutput<RoutingPlan>> PlanAsync(Envelope envelope, MessageHeaders headers, InspectionReport report, CancellationToken cancellationToken)
    {
        var ruleSet = rules.Current;
        var facts = FactsOf(envelope.Sender, headers, report);
        var decisions = new List<RoutingDecision>();
        foreach (var recipient in envelope.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var decision = await engine.DecideAsync(ruleSet, facts, recipient, cancellationToken);
            if (decision.Rule is null) return StageResult.Hold("no routing rule matched a recipient");
            decisions.Add(direct?.Enabled == true ? decision : decision.FallingBack(DirectDisabled));
        }
        if (decisions.Count == 0) return StageResult.Hold("no routing decisions");
        return new RoutingPlan(decisions, ruleSet.SubjectTags);
    }

    /// <summary>What the rules see.</summary>
    public static MessageFacts FactsOf(string sender, MessageHeaders headers, InspectionReport report) =>
        new(sender, headers.Subject ?? "", headers.Sensitivity, report.HasDentalImage,
            report.Findings.Where(f => f.Kind is not ImageKind.None).Select(f => f.Kind.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase));

    /// <summary>Kinds a rule may name in <c>ImageKinds</c>.</summary>
    public static IReadOnlyCollection<string> KnownImageKinds { get; } =
        Enum.GetNames<ImageKind>().Where(n => n != nameof(ImageKind.None)).ToList();
}
