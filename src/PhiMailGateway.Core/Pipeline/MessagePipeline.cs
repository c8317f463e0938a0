using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Pipeline;

/// <summary>
/// Walks a queued message through the stages in order, top to bottom. Fails closed: a stage that
/// throws or runs past its time limit defers the message; a walk that ends without a decision holds
/// it. Nothing ever continues past a stage that did not say <see cref="StageResult.Continue"/>.
/// </summary>
public sealed partial class MessagePipeline(IEnumerable<IPipelineStage> stages, ILogger<MessagePipeline> logger)
{
    private readonly IReadOnlyList<IPipelineStage> _stages = stages.ToList();

    /// <summary>Longest a single stage may take before the message is deferred.</summary>
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromMinutes(2);

    public IReadOnlyList<string> StageNames => _stages.Select(s => s.Name).ToList();

    public async Task<StageResult> RunAsync(MessageContext context, CancellationToken cancellationToken)
    {
        foreach (var stage in _stages)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(StageTimeout);
            StageResult result;
            try
            {
                result = await stage.ProcessAsync(context, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                LogStageTimeout(logger, context.QueueId, stage.Name);
                return StageResult.Defer($"stage {stage.Name} timed out");
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception e)
            {
                LogStageFailed(logger, context.QueueId, stage.Name, e.GetType().Name);
                return StageResult.Defer($"stage {stage.Name} failed: {e.GetType().Name}");
            }

            LogStageResult(logger, context.QueueId, stage.Name, result.GetType().Name);
            if (result is not StageResult.ContinueResult) return result;
        }
        return StageResult.Hold("no stage decided how to deliver the message");
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "{QueueId}: stage {Stage} answered {Result}")]
    private static partial void LogStageResult(ILogger logger, string queueId, string stage, string result);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "{QueueId}: stage {Stage} timed out; message deferred")]
    private static partial void LogStageTimeout(ILogger logger, string queueId, string stage);

    // Exception messages can quote message content, so only the type is logged.
    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "{QueueId}: stage {Stage} threw {ExceptionType}; message deferred")]
    private static partial void LogStageFailed(ILogger logger, string queueId, string stage, string exceptionType);
}
