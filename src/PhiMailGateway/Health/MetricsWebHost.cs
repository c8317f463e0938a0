using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;

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
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, FollowerLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 0;
            k.Listen(IPAddress.Parse(options.Address), port);
        });
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

    private sealed class ForwardingLoggerProvider(ILoggerFactory gateway) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => gateway.CreateLogger(categoryName);
        public void Dispose() { }
    }

    private sealed class FollowerLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [LoggerMessage(EventId = 9051, Level = LogLevel.Information, Message = "Metrics and health listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string endpoint);
}
