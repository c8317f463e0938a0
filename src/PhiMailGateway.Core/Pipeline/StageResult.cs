namespace PhiMailGateway.Pipeline;

/// <summary>
/// How the walk of a message ends: a small closed set, in the manner of Haraka's hook results, but
/// typed. A stage that goes on returns its output instead (<see cref="StageOutput{T}"/>); anything
/// it returns from this set stops the walk, and the runner fails closed.
/// </summary>
public abstract record StageResult
{
    private StageResult() { }

    public static readonly StageResult Deliver = new DeliverResult();
    public static StageResult Defer(string reason) => new DeferResult(reason);
    public static StageResult Hold(string reason) => new HoldResult(reason);
    public static StageResult Reject(string reason) => new RejectResult(reason);

    /// <summary>The outbound copies are complete: record the disclosures and enqueue them for relay.</summary>
    public sealed record DeliverResult : StageResult;

    /// <summary>Transient trouble: process this message again later.</summary>
    public sealed record DeferResult(string Reason) : StageResult;

    /// <summary>Keep the message in <c>hold/</c> for a person to look at; nothing leaves.</summary>
    public sealed record HoldResult(string Reason) : StageResult;

    /// <summary>The message must not leave; the sender gets a DSN.</summary>
    public sealed record RejectResult(string Reason) : StageResult;
}

/// <summary>
/// A stage's answer: its output for the next stage, or the result that stops the walk (never both).
/// Stages write <c>return plan;</c> or <c>return StageResult.Hold("...")</c>.
/// </summary>
public readonly struct StageOutput<T> where T : class
{
    private StageOutput(T? output, StageResult? stop)
    {
        Output = output;
        Stop = stop;
    }

    /// <summary>What the next stage takes; null exactly when <see cref="Stop"/> is set.</summary>
    public T? Output { get; }

    public StageResult? Stop { get; }

    public static implicit operator StageOutput<T>(T output) => new(output ?? throw new ArgumentNullException(nameof(output)), null);

    public static implicit operator StageOutput<T>(StageResult stop) => new(null, stop ?? throw new ArgumentNullException(nameof(stop)));
}
