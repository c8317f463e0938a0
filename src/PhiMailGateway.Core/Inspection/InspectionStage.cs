using Microsoft.Extensions.Logging;
using MimeKit;
using PhiMailGateway.Protection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Inspection;

/// <summary>
/// First stage: classifies every part of the queued message and leaves the report on the context
/// for Routing and Protection. It never decides delivery itself, so it always continues; a message
/// it cannot parse gets a report that fails closed (counts as carrying a dental image).
/// </summary>
public sealed partial class InspectionStage(InspectionOptions options, SpoolDirectory spool, ILogger<InspectionStage> logger) : IPipelineStage
{
    // Zip and TNEF containers are spilled next to the spool, so PHI never leaves the data directory.
    private readonly MessageInspector _inspector = new(options, spool.Scratch);

    public string Name => "Inspection";

    public async Task<StageResult> ProcessAsync(MessageContext context, CancellationToken cancellationToken)
    {
        InspectionReport report;
        try
        {
            var message = context.OpenMessage();
            MimeMessage? parsed = null;
            try
            {
                (report, parsed) = await _inspector.InspectAndKeepAsync(message, cancellationToken);
                // Lent to the first protector that needs the message parsed, so a clean message is
                // parsed once, not twice. One that failed closed anywhere is parsed afresh.
                if (parsed is not null && !report.FailedClosed.Any())
                {
                    context.LendParsed(new LoadedMessage(parsed, message));
                    parsed = null;
                    message = null;
                }
            }
            finally
            {
                parsed?.Dispose();
                if (message is not null) await message.DisposeAsync();
            }
        }
        catch (OperationCanceledException)
        {
            throw;
        }
        catch (Exception e) when (e is not (IOException or UnauthorizedAccessException))
        {
            // The spool file was readable but the inspector tripped: treat the message as carrying
            // dental images rather than letting it through uninspected. I/O trouble still throws, so
            // the pipeline defers and we try again.
            LogInspectionFailed(logger, context.QueueId, e.GetType().Name);
            report = MessageInspector.Unreadable($"inspection failed ({e.GetType().Name})");
        }
        context.Inspection = report;

        var protectedCount = report.Findings.Count(f => f.IsProtected);
        LogInspected(logger, context.QueueId, report.Findings.Count, protectedCount, string.Join(",", report.Kinds), report.Findings.Where(f => f.IsProtected).Sum(f => f.Size));
        var failed = report.FailedClosed.Count();
        if (failed > 0) LogFailedClosed(logger, context.QueueId, failed);
        return StageResult.Continue;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "{QueueId}: inspected {PartCount} parts, {ProtectedCount} protected (kinds {Kinds}, {ProtectedBytes} bytes)")]
    private static partial void LogInspected(ILogger logger, string queueId, int partCount, int protectedCount, string kinds, long protectedBytes);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "{QueueId}: {FailedCount} parts could not be inspected; counted as dental images")]
    private static partial void LogFailedClosed(ILogger logger, string queueId, int failedCount);

    // Exception messages can quote message content, so only the type is logged.
    [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "{QueueId}: inspection threw {ExceptionType}; message treated as carrying dental images")]
    private static partial void LogInspectionFailed(ILogger logger, string queueId, string exceptionType);
}
