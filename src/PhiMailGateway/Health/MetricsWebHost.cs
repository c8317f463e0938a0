using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Hosting;

namespace PhiMailGateway.Health;

/// <summary>
/// The optional monitoring listener on <c>Metrics:Address</c>:<c>Metrics:Port</c>: <c>/metrics</c> and
/// <c>/health</c>, nothing else. Its container holds only the health report, the counters and the
/// queue gauges.
/// </summary>
public sealed partial class MetricsWebHost(IServiceProvider gateway, MetricsOptions options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    /// <summary>The bound port (the configured one; tests read it back).</summary>
    public int? Port => options.Port;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Port is not { } port) return;
        var builder = EmbeddedWebApp.CreateBuilder(loggers, IPAddress.Parse(options.Address), port, maxRequestBodyBytes: 0);
        builder.Services.AddSingleton(gateway.GetRequiredService<HealthReport>());
        builder.Services.AddSingleton(gateway.GetRequiredService<GatewayMetrics>());
        builder.Services.AddSingleton(gateway.GetRequiredService<QueueGauges>());
        var app = builder.Build();
        app.UseRouting();
        HealthEndpoints.MapHealth(app);
        HealthEndpoints.MapMetrics(app);
        await app.StartAsync(cancellationToken);
        _app = app;
        LogListening(loggers.CreateLogger<MetricsWebHost>(), $"{options.Address}:{port}");
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    [LoggerMessage(EventId = 9051, Level = LogLevel.Information, Message = "Metrics and health listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string endpoint);
}
