using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Ingress;
using PhiMailGateway.Processing;
using PhiMailGateway.Relay;
using PhiMailGateway.Users;

namespace PhiMailGateway.Hosting;

/// <summary>The `serve` verb's host; reads like the flow in DESIGN.md, one line per stage.</summary>
public static class GatewayHost
{
    public static IHost Build(string[] configArgs, IDictionary<string, string?>? overrides = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            Args = [],
            DisableDefaults = false,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddGatewaySources(configArgs, overrides);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(20));

        builder.AddGatewayOptions();
        builder.AddStorage();
        builder.AddUsers();
        builder.AddIngress();      // SMTP in, spool, 250
        builder.AddProcessing();   // pipeline stages after queueing
        builder.AddRelay();        // out to the smarthost or outbox, retries, DSNs
        return builder.Build();
    }
}
