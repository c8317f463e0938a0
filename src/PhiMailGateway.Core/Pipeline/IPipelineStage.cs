namespace PhiMailGateway.Pipeline;

/// <summary>One named step of processing after the message is queued (Inspection, Routing, Protection...).</summary>
public interface IPipelineStage
{
    /// <summary>Stage name as in DESIGN.md; it appears in logs and hold reasons.</summary>
    string Name { get; }

    Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken);
}
