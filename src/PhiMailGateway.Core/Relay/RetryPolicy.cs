using PhiMailGateway.Configuration;

namespace PhiMailGateway.Relay;

/// <summary>
/// When to try a deferred delivery again (Relay:RetrySchedule), and when to give up and bounce
/// (Relay:MaxQueueLifetime after the message was queued). The last try happens at the lifetime,
/// not one step past it.
/// </summary>
public sealed class RetryPolicy
{
    private readonly IReadOnlyList<TimeSpan> _steps;

    public RetryPolicy(RelayOptions options)
    {
        _steps = options.RetrySteps;
        if (_steps.Count == 0)
            throw new ArgumentException("Relay:RetrySchedule has no usable steps.", nameof(options));
        MaxQueueLifetime = options.MaxQueueLifetime;
    }

    public TimeSpan MaxQueueLifetime { get; }

    public IReadOnlyList<TimeSpan> Steps => _steps;

    /// <summary>The moment after which the message is bounced instead of tried again.</summary>
    public DateTimeOffset Deadline(DateTimeOffset queuedAt) => queuedAt + MaxQueueLifetime;

    /// <summary>True once the queue lifetime is used up: bounce (DSN with expired = true).</summary>
    public bool IsExpired(DateTimeOffset queuedAt, DateTimeOffset now) => now >= Deadline(queuedAt);

    /// <summary>The wait after <paramref name="attemptsSoFar"/> failed attempts (1 after the first): that step of the schedule, the last one repeating.</summary>
    public TimeSpan StepAfter(int attemptsSoFar) => _steps[Math.Clamp(attemptsSoFar - 1, 0, _steps.Count - 1)];

    /// <summary>
    /// The next attempt after <paramref name="attemptsSoFar"/> failed attempts (1 after the first try):
    /// step <c>attemptsSoFar - 1</c> of the schedule, the last step repeating; capped at the deadline.
    /// Null when the deadline has been reached: give up and bounce.
    /// </summary>
    public DateTimeOffset? NextAttempt(int attemptsSoFar, DateTimeOffset queuedAt, DateTimeOffset now)
    {
        var deadline = Deadline(queuedAt);
        if (now >= deadline) return null;
        var step = StepAfter(attemptsSoFar);
        // Subtract rather than add so a huge lifetime or step cannot overflow DateTimeOffset.
        return deadline - now <= step ? deadline : now + step;
    }
}
