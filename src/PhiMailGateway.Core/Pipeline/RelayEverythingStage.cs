namespace PhiMailGateway.Pipeline;

/// <summary>
/// The last stage until routing exists: every recipient not already served by an earlier stage gets
/// the original message, unchanged, with the <c>Relay</c> action.
/// </summary>
public sealed class RelayEverythingStage : IPipelineStage
{
    public string Name => "Relay";

    public Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken)
    {
        var served = context.Outbound.SelectMany(o => o.Recipients).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var rest = context.Envelope.Recipients.Where(r => !served.Contains(r)).ToList();
        if (rest.Count > 0)
        {
            context.Outbound.Add(new OutboundCopy(rest, new OutboundContent(context.Spool.Path, context.Spool.MessageOffset), "Relay", null, RequireTls: false));
        }
        return Task.FromResult(StageResult.Deliver);
    }
}
