namespace PhiMailGateway.Queue;

public static class MessageStates
{
    public const string Received = "Received";
    public const string Processed = "Processed";
    public const string Held = "Held";
    public const string Rejected = "Rejected";
    public const string Corrupt = "Corrupt";
    public const string Done = "Done";
}

public static class DeliveryStates
{
    public const string Pending = "Pending";
    public const string Done = "Done";
}

public static class RecipientStates
{
    public const string Pending = "Pending";
    public const string Delivered = "Delivered";
    public const string Failed = "Failed";

    /// <summary>Direct delivery could not take this recipient's TLS-first copy; a fallback copy was queued instead.</summary>
    public const string FellBack = "FellBack";
}

/// <summary>A row of <c>messages</c>: one accepted spool file. Times are unix milliseconds (UTC).</summary>
public sealed class QueuedMessage
{
    public string QueueId { get; init; } = "";
    public string State { get; init; } = "";
    public string Sender { get; init; } = "";
    public long RecipientCount { get; init; }
    public long Size { get; init; }
    public string SpoolPath { get; init; } = "";
    public long ReceivedAt { get; init; }
    public long Attempts { get; init; }
    public long NextAttemptAt { get; init; }
    public string? LastError { get; init; }
}

/// <summary>A row of <c>deliveries</c>: one outbound copy with its pending recipients.</summary>
public sealed class QueuedDelivery
{
    public string DeliveryId { get; init; } = "";
    public string QueueId { get; init; } = "";
    public string Sender { get; init; } = "";
    public string ContentPath { get; init; } = "";
    public long ContentOffset { get; init; }
    public string Action { get; init; } = "";
    public string? RuleName { get; init; }
    public bool RequireTls { get; init; }
    public bool IsDsn { get; init; }
    public long CreatedAt { get; init; }
    public long Attempts { get; init; }
    public long NextAttemptAt { get; init; }
    public string State { get; init; } = "";
    public string? LastError { get; init; }

    /// <summary>Filled by the queue after the row is read: recipients not yet delivered or failed.</summary>
    public IReadOnlyList<string> PendingRecipients { get; set; } = [];
}

/// <summary>An outbound copy about to be enqueued; <see cref="NotBefore"/> holds it back (Guard:SendDelay, so it can be recalled).</summary>
public sealed record NewDelivery(
    string DeliveryId,
    string Sender,
    IReadOnlyList<string> Recipients,
    string ContentPath,
    long ContentOffset,
    string Action,
    string? RuleName,
    bool RequireTls,
    bool IsDsn,
    DateTimeOffset? NotBefore = null);

public sealed class DeliveryRecipientRow
{
    public string DeliveryId { get; init; } = "";
    public string Recipient { get; init; } = "";
    public string Status { get; init; } = "";
    public long? Code { get; init; }
    public string? Response { get; init; }
}

/// <param name="DeliveryDone">No recipient of the delivery is pending any more.</param>
/// <param name="FilesToDelete">When the whole message got settled: the files it no longer needs (spool file, generated copies); else empty.</param>
public sealed record AttemptRecorded(bool DeliveryDone, IReadOnlyList<string> FilesToDelete);
