using PhiMailGateway.Health;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Ingress;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Queue;
using PhiMailGateway.Protection;
using PhiMailGateway.Relay;
using PhiMailGateway.Users;

namespace PhiMailGateway.Hosting;

/// <summary>The `serve` verb's host; reads like the flow in DESIGN.md, one line per stage.</summary>
public static class GatewayHost
{
    /// <param name="configArgs">Command-line configuration (<c>--Smtp:Port=2525</c>).</param>
    /// <param name="overrides">Highest-priority configuration values (tests).</param>
    /// <param name="configureServices">Runs after every stage registered itself, so it can add or replace
    /// services (tests: a fake user directory, a failing acceptor). Production passes nothing.</param>
    public static IHost Build(string[] configArgs, IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        var builder = CreateBuilder(configArgs, overrides, withDefaults: true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));
        // One line per event with a UTC timestamp: what journald and log shippers expect, and cheaper to write.
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z' ";
        });
        // The host logs a start-up failure with its whole stack trace; `serve` says it in one line instead
        // (StartupFailure). Its Critical events (a background service stopping the host) still show.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        builder.AddIngress();      // SMTP in, spool, 250
        builder.AddAudit();        // disclosure records and events, hash-chained
        builder.AddSmime();        // recipient certificates and S/MIME
        builder.AddProcessing();   // pipeline stages after queueing
        builder.AddRelay();        // out to the smarthost or outbox, retries, DSNs
        builder.AddPickup();       // pickup packages, the recipient's page, retention
        builder.AddHealth();       // counters, GET /health, the optional /metrics listener (after ingress: it reports it)
        configureServices?.Invoke(builder.Services);
        try
        {
            RequiredParts.Check(builder.Services);
        }
        catch
        {
            // No host will own the configuration: release its file watchers (inotify instances) now.
            builder.Configuration.Dispose();
            throw;
        }
        return builder.Build();
    }

    /// <summary>
    /// What `serve` and every CLI verb share: the configuration sources, the options with their
    /// validators, storage and users. <paramref name="withDefaults"/> adds the host's logging and
    /// lifetime defaults, which only `serve` wants.
    /// </summary>
    public static HostApplicationBuilder CreateBuilder(string[] configArgs, IDictionary<string, string?>? overrides, bool withDefaults)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            DisableDefaults = !withDefaults,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        var reloads = new ConfigFileReloads();
        builder.Configuration.AddGatewaySources(configArgs, overrides, reloadOnChange: withDefaults, reloads);
        builder.Services.AddSingleton(reloads);
        if (withDefaults) builder.Services.AddHostedService<ConfigFileReloadLogger>();
        builder.AddGatewayOptions();
        builder.AddStorage();
        return builder;
    }
}
