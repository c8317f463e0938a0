using PhiMailGateway.Inspection;
using PhiMailGateway.Protection;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Walks a queued message through the stages, top to bottom: headers, inspection, routing,
/// protection. Each stage's output is handed explicitly to the next; each runs under
/// <see cref="StageRunner"/>, so a stage that throws or times out defers the message and nothing
/// runs after a stage that stopped the walk. The audit and the enqueue follow in
/// <see cref="MessageProcessor"/>, which takes the <see cref="ProcessedMessage"/> returned here.
/// </summary>
public sealed class MessagePipeline(InspectionStage inspection, RoutingStage routing, ProtectionStage protection, StageRunner runner)
{
    public const string HeadersStage = "Headers";

    public async Task<PipelineOutcome> RunAsync(SpoolEntry message, CancellationToken cancellationToken)
    {
        var queueId = message.QueueId;

        var headers = await runner.RunAsync(queueId, HeadersStage, ct => MessageHeaders.ReadAsync(message, ct), cancellationToken);
        if (headers.Output is null) return new PipelineOutcome(headers.Stop!, null);

        var report = await runner.RunAsync(queueId, InspectionStage.Name, ct => inspection.InspectAsync(message, ct), cancellationToken);
        if (report.Output is null) return new PipelineOutcome(report.Stop!, null);

        var plan = await runner.RunAsync(queueId, RoutingStage.Name,
            ct => routing.PlanAsync(message.Envelope, headers.Output, report.Output, ct), cancellationToken);
        if (plan.Output is null) return new PipelineOutcome(plan.Stop!, null);

        var copies = await runner.RunAsync(queueId, ProtectionStage.Name,
            ct => protection.ProtectAsync(message, headers.Output, report.Output, plan.Output, ct), cancellationToken);
        if (copies.Output is null) return new PipelineOutcome(copies.Stop!, null);

        var processed = new ProcessedMessage(message, headers.Output, report.Output, plan.Output, copies.Output);
        // Every recipient refused by a Reject rule: nothing to send, the sender hears why.
        return copies.Output.Copies.Count == 0
            ? new PipelineOutcome(StageResult.Reject(plan.Output.Rejections[0].Message), processed)
            : new PipelineOutcome(StageResult.Deliver, processed);
    }
}

/// <summary>How the walk ended; <see cref="Processed"/> is there when every stage handed on its output (Deliver or Reject).</summary>
public sealed record PipelineOutcome(StageResult Result, ProcessedMessage? Processed);

/// <summary>
/// What the stages made of one message, for the audit and the queue: the headers read once, the
/// findings, the plan per recipient, and the copies with their delivery ids.
/// </summary>
public sealed record ProcessedMessage(SpoolEntry Message, MessageHeaders Headers, InspectionReport Report, RoutingPlan Plan, ProtectedCopies Protection)
{
    public string QueueId => Message.QueueId;
    public Envelope Envelope => Message.Envelope;
    public IReadOnlyList<OutboundCopy> Copies => Protection.Copies;
}
