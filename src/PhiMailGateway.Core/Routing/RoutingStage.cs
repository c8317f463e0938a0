using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;

namespace PhiMailGateway.Routing;

/// <summary>
/// Second stage: decides per envelope recipient (To, Cc and Bcc alike) which rule applies, using the
/// inspection report. A recipient no rule matches holds the message: nothing leaves on a default
/// nobody wrote (invariant 3).
/// </summary>
public sealed class RoutingStage(RuleSetProvider rules, RuleEngine engine) : IPipelineStage
{
    public string Name => "Routing";

    public async Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var ruleSet = rules.Current;
        var facts = FactsOf(context.Envelope.Sender, context.Inspection);
        context.SubjectTags = ruleSet.SubjectTags;
        foreach (var recipient in context.Envelope.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var decision = await engine.DecideAsync(ruleSet, facts, recipient, cancellationToken);
            if (decision.Rule is null) return StageResult.Hold("no routing rule matched a recipient");
            context.Decisions[recipient] = decision;
        }
        return StageResult.Continue;
    }

    /// <summary>What the rules see. Without a report (inspection did not run) the message counts as carrying dental images.</summary>
    public static MessageFacts FactsOf(string sender, InspectionReport? report) =>
        report is null
            ? new MessageFacts(sender, "", null, HasDentalImage: true, new HashSet<string>(StringComparer.OrdinalIgnoreCase) { nameof(ImageKind.Unknown) })
            : new MessageFacts(sender, report.Subject ?? "", report.Sensitivity, report.HasDentalImage,
                report.Findings.Where(f => f.Kind is not ImageKind.None).Select(f => f.Kind.ToString()).ToHashSet(StringComparer.OrdinalIgnoreCase));

    /// <summary>Kinds a rule may name in <c>ImageKinds</c>.</summary>
    public static IReadOnlyCollection<string> KnownImageKinds { get; } =
        Enum.GetNames<ImageKind>().Where(n => n != nameof(ImageKind.None)).ToList();
}
