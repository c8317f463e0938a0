using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Health;

public static class HealthRegistration
{
    /// <summary>The counters fed by ingress, processing and relay; the health report; the optional metrics listener.</summary>
    public static IHostApplicationBuilder AddHealth(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayMetrics>();
        builder.Services.AddSingleton<QueueGauges>();
        builder.Services.AddSingleton<HealthReport>();
        builder.Services.AddSingleton<MetricsWebHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<MetricsWebHost>());
        return builder;
    }
}
