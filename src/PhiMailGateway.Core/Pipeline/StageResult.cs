namespace PhiMailGateway.Pipeline;

/// <summary>
/// What a stage says about a message: a small closed set, in the manner of Haraka's hook results,
/// but typed, and the runner fails closed: anything but <see cref="Continue"/> stops the walk.
/// </summary>
public abstract record StageResult
{
    private StageResult() { }

    public static readonly StageResult Continue = new ContinueResult();
    public static readonly StageResult Deliver = new DeliverResult();
    public static StageResult Defer(string reason) => new DeferResult(reason);
    public static StageResult Hold(string reason) => new HoldResult(reason);
    public static StageResult Reject(string reason) => new RejectResult(reason);

    /// <summary>Go on to the next stage.</summary>
    public sealed record ContinueResult : StageResult;

    /// <summary>The outbound copies in the context are complete: enqueue them for relay.</summary>
    public sealed record DeliverResult : StageResult;

    /// <summary>Transient trouble: process this message again later.</summary>
    public sealed record DeferResult(string Reason) : StageResult;

    /// <summary>Keep the message in <c>hold/</c> for a person to look at; nothing leaves.</summary>
    public sealed record HoldResult(string Reason) : StageResult;

    /// <summary>The message must not leave; the sender gets a DSN.</summary>
    public sealed record RejectResult(string Reason) : StageResult;
}
