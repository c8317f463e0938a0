// STUB until the relay branch merges; replaced by its implementation.
using PhiMailGateway.Configuration;
namespace PhiMailGateway.Relay;
public sealed class RetryPolicy(RelayOptions options)
{
    public DateTimeOffset? NextAttempt(int attemptsSoFar, DateTimeOffset queuedAt, DateTimeOffset now)
    {
        var steps = options.RetrySteps;
        var deadline = queuedAt + options.MaxQueueLifetime;
        if (now >= deadline) return null;
        var step = steps[Math.Min(attemptsSoFar, steps.Count - 1)];
        return now + step < deadline ? now + step : deadline;
    }
}
