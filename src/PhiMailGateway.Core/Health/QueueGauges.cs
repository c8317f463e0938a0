using Dapper;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Health;

/// <summary>What is in the queue right now, read from the queue tables when asked (a scrape), never kept in memory.</summary>
public sealed class QueueGauges(GatewayDatabase database, TimeProvider time)
{
    /// <summary>Messages per state not yet done (held ones count as queued), pending outbound copies, and the age of the oldest such message.</summary>
    public async Task<QueueSnapshot> ReadAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        var states = (await connection.QueryAsync<(string State, long Count)>(new CommandDefinition(
            "SELECT state, COUNT(*) FROM messages WHERE state IN @open GROUP BY state",
            new { open = OpenStates }, cancellationToken: cancellationToken))).ToDictionary(r => r.State, r => r.Count, StringComparer.Ordinal);
        var oldest = await connection.ExecuteScalarAsync<long?>(new CommandDefinition(
            "SELECT MIN(received_at) FROM messages WHERE state IN @open", new { open = OpenStates }, cancellationToken: cancellationToken));
        var pending = await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            "SELECT COUNT(*) FROM deliveries WHERE state = @pending", new { pending = DeliveryStates.Pending }, cancellationToken: cancellationToken));
        var age = oldest is { } ms ? time.GetUtcNow() - DateTimeOffset.FromUnixTimeMilliseconds(ms) : TimeSpan.Zero;
        return new QueueSnapshot(
            OpenStates.ToDictionary(s => s, s => states.GetValueOrDefault(s), StringComparer.Ordinal),
            pending,
            age < TimeSpan.Zero ? TimeSpan.Zero : age);
    }

    /// <summary>Accepted and not finished: waiting for the pipeline, with copies still to relay, or held for a person.</summary>
    public static readonly string[] OpenStates = [MessageStates.Received, MessageStates.Processed, MessageStates.Held];
}

public sealed record QueueSnapshot(IReadOnlyDictionary<string, long> MessagesByState, long PendingDeliveries, TimeSpan OldestAge);
