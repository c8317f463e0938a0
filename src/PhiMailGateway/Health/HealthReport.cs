using System.Text.Json;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Ingress;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Health;

/// <summary>
/// The answer of <c>GET /health</c>: healthy only when the database answers, queue work is not paused
/// because the database cannot write, and the SMTP listener is bound. Each check is one word, so the
/// body tells IT which part is wrong without naming any message, address or path.
/// </summary>
public sealed partial class HealthReport(
    IGatewayStorage storage,
    DatabaseWritePause writePause,
    SmtpIngressService ingress,
    ILogger<HealthReport> logger)
{
    /// <summary>A database that does not answer in this time counts as down: the probe must not hang with it.</summary>
    public static readonly TimeSpan DatabaseTimeout = TimeSpan.FromSeconds(3);

    public async Task<HealthStatus> CheckAsync(CancellationToken cancellationToken)
    {
        var checks = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["database"] = await DatabaseAsync(cancellationToken),
            ["queueWork"] = writePause.IsPaused ? "paused (database cannot write)" : "ok",
            ["smtp"] = ingress.BoundEndpoints.Count > 0 ? "ok" : "not listening",
        };
        var healthy = checks.Values.All(v => v == "ok");
        if (!healthy) LogDegraded(logger, string.Join(", ", checks.Where(c => c.Value != "ok").Select(c => c.Key)));
        return new HealthStatus(healthy, checks);
    }

    private async Task<string> DatabaseAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DatabaseTimeout);
        try
        {
            await storage.ProbeReadAsync(timeout.Token);
            return "ok";
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return "unavailable (" + e.GetType().Name + ")";
        }
    }

    [LoggerMessage(EventId = 9050, Level = LogLevel.Warning, Message = "Health check degraded: {Checks}")]
    private static partial void LogDegraded(ILogger logger, string checks);
}

/// <summary>Healthy or not, and each check's one-word state.</summary>
public sealed record HealthStatus(bool Healthy, IReadOnlyDictionary<string, string> Checks)
{
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", Healthy ? "healthy" : "degraded");
            json.WriteStartObject("checks");
            foreach (var (name, state) in Checks) json.WriteString(name, state);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
