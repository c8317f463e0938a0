using Microsoft.Extensions.Logging;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Inspection;

/// <summary>
/// First stage: classifies every part of the queued message and returns the findings for Routing
/// and Protection. It never decides delivery itself; a message it cannot parse gets a report that
/// fails closed (counts as carrying a dental image). Its parse of the message is its own and is
/// gone when it returns: the protectors that need one parse the message themselves.
/// </summary>
public sealed partial class InspectionStage(InspectionOptions options, SpoolDirectory spool, ILogger<InspectionStage> logger)
{
    public const string Name = "Inspection";

    // Zip and TNEF containers are spilled next to the spool, so PHI never leaves the data directory.
    private readonly MessageInspector _inspector = new(options, spool.Scratch);

    public async Task<InspectionReport> InspectAsync(SpoolEntry message, CancellationToken cancellationToken)
    {
        InspectionReport report;
        try
        {
            await using var stream = message.OpenMessage();
            report = await _inspector.InspectAsync(stream, cancellationToken);
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
            LogInspectionFailed(logger, message.QueueId, e.GetType().Name);
            report = MessageInspector.Unreadable($"inspection failed ({e.GetType().Name})");
        }

        var protectedCount = report.Findings.Count(f => f.IsProtected);
        LogInspected(logger, message.QueueId, report.Findings.Count, protectedCount, string.Join(",", report.Kinds), report.Findings.Where(f => f.IsProtected).Sum(f => f.Size));
        var failed = report.FailedClosed.Count();
        if (failed > 0) LogFailedClosed(logger, message.QueueId, failed);
        return report;
    }

    [LoggerMessage(EventId = 5101, Level = LogLevel.Debug, Message = "{QueueId}: inspected {PartCount} parts, {ProtectedCount} protected (kinds {Kinds}, {ProtectedBytes} bytes)")]
    private static partial void LogInspected(ILogger logger, string queueId, int partCount, int protectedCount, string kinds, long protectedBytes);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "{QueueId}: {FailedCount} parts could not be inspected; counted as dental images")]
    private static partial void LogFailedClosed(ILogger logger, string queueId, int failedCount);

    // Exception messages can quote message content, so only the type is logged.
    [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "{QueueId}: inspection threw {ExceptionType}; message treated as carrying dental images")]
    private static partial void LogInspectionFailed(ILogger logger, string queueId, string exceptionType);
}
