using PhiMailGateway.Guard;
using PhiMailGateway.Inspection;
using PhiMailGateway.Protection;
using PhiMailGateway.Queue;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Walks a queued message through the stages, top to bottom: headers, inspection, routing, guard,
/// protection. Each stage's output is handed explicitly to the next; each runs under
/// <see cref="StageRunner"/>, so a stage that throws or times out defers the message and nothing
/// runs after a stage that stopped the walk. The audit and the enqueue follow in
/// <see cref="MessageProcessor"/>, which takes the <see cref="ProcessedMessage"/> returned here.
/// A copy the guard held is walked again, for its recipient alone, when it is released
/// (<see cref="PipelinePass.Release"/>): the rules then in force decide how it goes. A TLS-first
/// copy that direct delivery could not take is walked again for its recipients
/// (<see cref="PipelinePass.Fallback"/>), the guard not asked twice, TlsFirst taking its rule's fallback.
/// </summary>
public sealed class MessagePipeline(InspectionStage inspection, RoutingStage routing, GuardStage guard, ProtectionStage protection, StageRunner runner)
{
    public const string HeadersStage = "Headers";

    public Task<PipelineOutcome> RunAsync(SpoolEntry message, CancellationToken cancellationToken) =>
        RunAsync(message, PipelinePass.Arrival(message.QueueId), cancellationToken);

    public async Task<PipelineOutcome> RunAsync(SpoolEntry message, PipelinePass pass, CancellationToken cancellationToken)
    {
        var queueId = message.QueueId;

        var headers = await runner.RunAsync(queueId, HeadersStage, ct => MessageHeaders.ReadAsync(message, ct), cancellationToken);
        if (headers.Output is null) return new PipelineOutcome(headers.Stop!, null);

        var report = await runner.RunAsync(queueId, InspectionStage.Name, ct => inspection.InspectAsync(message, ct), cancellationToken);
        if (report.Output is null) return new PipelineOutcome(report.Stop!, null);

        var routed = await runner.RunAsync(queueId, RoutingStage.Name,
            ct => routing.PlanAsync(message.Envelope, headers.Output, report.Output, ct), cancellationToken);
        if (routed.Output is null) return new PipelineOutcome(routed.Stop!, null);

        var decided = DecisionsOf(pass, routed.Output);

        var checkedVerdicts = pass.ReleasedRecipient is { } releasedRecipient ? (StageOutput<GuardPlan>)GuardPlan.Released(releasedRecipient)
            : pass.FallbackRecipients is { } again ? GuardPlan.Passed(again)
            : await runner.RunAsync(queueId, GuardStage.Name, ct => guard.CheckAsync(headers.Output, report.Output, decided, ct), cancellationToken);
        if (checkedVerdicts.Output is null) return new PipelineOutcome(checkedVerdicts.Stop!, null);
        var verdicts = checkedVerdicts.Output.HoldingWhereRouted(decided);

        // Held copies are not made: no package, no notice, nothing to relay until someone releases them.
        var plan = decided.Only(decided.Decisions.Keys.Except(verdicts.HeldRecipients, StringComparer.OrdinalIgnoreCase));

        var copies = await runner.RunAsync(queueId, ProtectionStage.Name,
            ct => protection.ProtectAsync(message, headers.Output, report.Output, plan, pass.DeliveryIdPrefix, ct), cancellationToken);
        if (copies.Output is null) return new PipelineOutcome(copies.Stop!, null);

        var processed = new ProcessedMessage(message, headers.Output, report.Output, plan, verdicts, copies.Output);
        // Every recipient refused by a Reject rule (and none held): nothing to send, the sender hears why.
        return copies.Output.Copies.Count == 0 && !verdicts.Held.Any() && plan.Rejections.Count > 0
            ? new PipelineOutcome(StageResult.Reject(plan.Rejections[0].Message), processed)
            : new PipelineOutcome(StageResult.Deliver, processed);
    }

    /// <summary>The decisions this walk acts on: every recipient's on arrival, the released or fallen-back ones' otherwise.</summary>
    private static RoutingPlan DecisionsOf(PipelinePass pass, RoutingPlan routed)
    {
        if (pass.ReleasedRecipient is { } one)
        {
            // A released copy is never held again by its rule. One its rule held after direct delivery
            // could not verify the MX takes the fallback's release (pickup) at once, not another round
            // of direct delivery.
            var released = routed.Only([one]);
            return (pass.FallbackBecause is { } because ? released.FallingBack(because) : released).Released();
        }
        return pass.FallbackRecipients is { } fallback
            ? routed.Only(fallback).FallingBack(pass.FallbackBecause ?? "direct delivery could not take the copy")
            : routed;
    }
}

/// <summary>
/// Which walk of a message this is: its arrival (every recipient, checked by the guard), the
/// release of one held copy (that recipient only, not checked again, its copies named after the
/// hold), or the fallback of a TLS-first copy (its recipients, not checked again, named after it).
/// </summary>
public sealed record PipelinePass(string DeliveryIdPrefix, string? ReleasedRecipient, IReadOnlyList<string>? FallbackRecipients = null, string? FallbackBecause = null)
{
    public static PipelinePass Arrival(string queueId) => new(queueId, null);

    /// <param name="fellBackBecause">Set when the copy was held as its TlsFirst rule's fallback: released, it takes the fallback's release (pickup) at once.</param>
    public static PipelinePass Release(string holdId, string recipient, string? fellBackBecause = null) => new(holdId, recipient, null, fellBackBecause);

    /// <param name="deliveryId">The TLS-first copy's delivery id; the fallback copies are <c>{deliveryId}f-{n}</c>.</param>
    public static PipelinePass Fallback(string deliveryId, IReadOnlyList<string> recipients, string because) => new(deliveryId + "f", null, recipients, because);
}

/// <summary>How the walk ended; <see cref="Processed"/> is there when every stage handed on its output (Deliver or Reject).</summary>
public sealed record PipelineOutcome(StageResult Result, ProcessedMessage? Processed);

/// <summary>
/// What the stages made of one message, for the audit and the queue: the headers read once, the
/// findings, the plan per recipient whose copies were made (held ones are left out), the guard's
/// verdicts, and the copies with their delivery ids.
/// </summary>
public sealed record ProcessedMessage(SpoolEntry Message, MessageHeaders Headers, InspectionReport Report, RoutingPlan Plan, GuardPlan Guard,
    ProtectedCopies Protection)
{
    public string QueueId => Message.QueueId;
    public Envelope Envelope => Message.Envelope;
    public IReadOnlyList<OutboundCopy> Copies => Protection.Copies;

    /// <summary>The copies as queue rows, none due before <paramref name="notBefore"/>.</summary>
    public List<NewDelivery> Deliveries(DateTimeOffset? notBefore = null) => Copies.Select(copy => new NewDelivery(
        copy.DeliveryId, Envelope.Sender, copy.Recipients, copy.Content.Path, copy.Content.Offset,
        copy.Action, copy.RuleName, copy.RequireTls, IsDsn: false, NotBefore: notBefore)).ToList();
}
