using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Runs one stage of one message and fails closed: a stage that throws or runs past its time limit
/// defers the message (it is processed again later), so nothing continues past a stage that did not
/// hand on an output.
/// </summary>
public sealed partial class StageRunner(ILogger<StageRunner> logger)
{
    /// <summary>Longest a single stage may take before the message is deferred.</summary>
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>A stage that always hands on its output (it may still throw).</summary>
    public Task<StageOutput<T>> RunAsync<T>(string queueId, string stage, Func<CancellationToken, Task<T>> run, CancellationToken cancellationToken)
        where T : class =>
        RunAsync<T>(queueId, stage, async ct => (StageOutput<T>)await run(ct), cancellationToken);

    public async Task<StageOutput<T>> RunAsync<T>(string queueId, string stage, Func<CancellationToken, Task<StageOutput<T>>> run,
        CancellationToken cancellationToken) where T : class
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StageTimeout);
        StageOutput<T> output;
        try
        {
            output = await run(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            LogStageTimeout(logger, queueId, stage);
            return StageResult.Defer($"stage {stage} timed out");
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e)
        {
            LogStageFailed(logger, queueId, stage, e.GetType().Name);
            return StageResult.Defer($"stage {stage} failed: {e.GetType().Name}");
        }

        LogStageResult(logger, queueId, stage, output.Stop?.GetType().Name ?? "Continue");
        return output;
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "{QueueId}: stage {Stage} answered {Result}")]
    private static partial void LogStageResult(ILogger logger, string queueId, string stage, string result);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{QueueId}: stage {Stage} timed out; message deferred")]
    private static partial void LogStageTimeout(ILogger logger, string queueId, string stage);

    // Exception messages can quote message content, so only the type is logged.
    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "{QueueId}: stage {Stage} threw {ExceptionType}; message deferred")]
    private static partial void LogStageFailed(ILogger logger, string queueId, string stage, string exceptionType);
}
