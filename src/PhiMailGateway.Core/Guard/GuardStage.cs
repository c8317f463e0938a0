using PhiMailGateway.Audit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Guard;

/// <summary>
/// The Guard stage, between routing and protection: for a message with dental images, a verdict
/// per recipient its copies go to (Reject-ruled ones have none). A message without images is never
/// checked: every recipient passes.
/// </summary>
public sealed class GuardStage(GuardChecks checks, GuardKnowledgeCache knowledge, IGuardStore store, AuditKeys keys)
{
    public const string Name = "Guard";

    public async Task<GuardPlan> CheckAsync(MessageHeaders headers, InspectionReport report, RoutingPlan plan, CancellationToken cancellationToken)
    {
        var recipients = plan.Decisions.Values.Where(d => d.Action != RoutingAction.Reject).Select(d => d.Recipient).ToList();
        if (!report.HasDentalImage) return new GuardPlan(recipients.Select(r => new GuardVerdict(r, [])).ToList());

        // The audit's keyed hash of each PatientID: the patient is compared without being named.
        var lookups = DisclosureLog.PatientsOf(report).Where(p => !string.IsNullOrWhiteSpace(p.PatientId))
            .Select(p => keys.PatientLookup(p.PatientId!)).Distinct(StringComparer.Ordinal).ToList();
        var patientRecipients = await store.PatientRecipientsAsync(lookups, cancellationToken);
        var known = await knowledge.CurrentAsync(cancellationToken);
        var verdicts = checks.Check(new GuardSubject(recipients, headers.RecipientNames, patientRecipients), known);
        return new GuardPlan(HoldWholeMessageWhereRuled(verdicts, plan));
    }

    /// <summary>A held copy whose rule says <c>GuardHolds: Message</c> holds every other copy of the message with it.</summary>
    private static IReadOnlyList<GuardVerdict> HoldWholeMessageWhereRuled(IReadOnlyList<GuardVerdict> verdicts, RoutingPlan plan)
    {
        var holdsAll = verdicts.Any(v => v.Outcome == GuardOutcome.Hold
            && plan.Decisions.TryGetValue(v.Recipient, out var d) && d.Rule?.GuardHolds == GuardHoldScope.Message);
        if (!holdsAll) return verdicts;
        var reason = new GuardReason(GuardCheck.WholeMessage, GuardAction.Hold,
            "held with the rest of the message, because another of its addresses may be a mistake");
        return verdicts.Select(v => v.Outcome == GuardOutcome.Hold ? v : v with { Reasons = [.. v.Reasons, reason] }).ToList();
    }
}

/// <summary>The guard's output: one verdict per recipient a copy would go to, in routing's order.</summary>
public sealed record GuardPlan(IReadOnlyList<GuardVerdict> Verdicts)
{
    /// <summary>A copy the sender or IT released: it is not checked again.</summary>
    public static GuardPlan Released(string recipient) => new([new GuardVerdict(recipient, [])]);

    /// <summary>Copies the guard already let through once (a TLS-first copy made again as its fallback): not checked again.</summary>
    public static GuardPlan Passed(IEnumerable<string> recipients) => new(recipients.Select(r => new GuardVerdict(r, [])).ToList());

    public IReadOnlyList<string> HeldRecipients => Held.Select(v => v.Recipient).ToList();

    /// <summary>
    /// The verdicts with a hold added for every recipient whose routing decision is Hold, whatever
    /// the checks said: a rule, not a suspicion, keeps that copy back.
    /// </summary>
    public GuardPlan HoldingWhereRouted(RoutingPlan plan) => new(Verdicts.Select(v =>
        plan.Decisions.TryGetValue(v.Recipient, out var d) && d.Action == RoutingAction.Hold
            ? v with { Reasons = [.. v.Reasons, RuleHoldReason(d)] }
            : v).ToList());

    private static GuardReason RuleHoldReason(RoutingDecision decision) => new(GuardCheck.RuleHold, GuardAction.Hold,
        decision.FellBackBecause == RoutingStage.DirectDisabled
            ? "the gateway does not deliver straight to mail servers yet; sent anyway, it goes by secure pickup link"
            : decision.FellBackBecause is { } because
            ? $"its mail server's encryption could not be verified ({because}); sent anyway, it goes by secure pickup link"
            : $"the practice's rule {decision.Rule!.Name} asks you to confirm first; sent anyway, it goes by secure pickup link");

    public IEnumerable<GuardVerdict> Held => Verdicts.Where(v => v.Outcome == GuardOutcome.Hold);

    public IEnumerable<GuardVerdict> Flagged => Verdicts.Where(v => v.Outcome == GuardOutcome.Flag);
}
