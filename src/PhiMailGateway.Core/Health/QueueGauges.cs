using PhiMailGateway.Queue;

namespace PhiMailGateway.Health;

/// <summary>What is in the queue right now, read from the queue when asked (a scrape), never kept in memory.</summary>
public sealed class QueueGauges(IMessageQueue queue, TimeProvider time)
{
    /// <summary>Messages per state not yet done (held ones count as queued), pending outbound copies, and the age of the oldest such message.</summary>
    public async Task<QueueSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        var counts = await queue.CountAsync(OpenStates, cancellationToken);
        var age = counts.OldestReceivedAt is { } oldest ? time.GetUtcNow() - oldest : TimeSpan.Zero;
        return new QueueSnapshot(
            OpenStates.ToDictionary(s => s, s => counts.MessagesByState.GetValueOrDefault(s), StringComparer.Ordinal),
            counts.PendingDeliveries,
            age < TimeSpan.Zero ? TimeSpan.Zero : age);
    }

    /// <summary>Accepted and not finished: waiting for the pipeline, with copies still to relay, or held for a person.</summary>
    public static readonly string[] OpenStates = [MessageStates.Received, MessageStates.Processed, MessageStates.Held];
}

public sealed record QueueSnapshot(IReadOnlyDictionary<string, long> MessagesByState, long PendingDeliveries, TimeSpan OldestAge);
