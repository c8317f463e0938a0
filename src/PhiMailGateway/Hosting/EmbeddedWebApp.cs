using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Hosting;

/// <summary>
/// A small web application inside the gateway's process (the pickup page, the metrics listener),
/// with a container of its own: it gets only the services its caller hands it, never the gateway's.
/// </summary>
internal static class EmbeddedWebApp
{
    public static WebApplicationBuilder CreateBuilder(ILoggerFactory loggers, IPAddress address, int port, long maxRequestBodyBytes)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            // Never Development: no developer exception page, whatever the environment says.
            EnvironmentName = Environments.Production,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        // The gateway's log sinks, but ASP.NET Core's request logs stay at Warning whatever the
        // configuration says: at Information they would write every URL, and a URL holds a token.
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggers));
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The gateway's host owns start, stop and Ctrl+C; this app only follows it.
        builder.Services.AddSingleton<IHostLifetime, FollowerLifetime>();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = maxRequestBodyBytes;
            k.Listen(address, port);
        });
        return builder;
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
}
