using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Pickup;

public static class PickupRegistration
{
    /// <summary>The Pickup protector, the package store, the recipient's page and the retention sweeper.</summary>
    public static IHostApplicationBuilder AddPickup(this IHostApplicationBuilder builder)
    {
        builder.Services.TryAddSingleton<PickupPackageStore>();
        builder.Services.TryAddSingleton<PickupLabelStore>();
        builder.Services.TryAddSingleton<PickupCodeMailer>();
        builder.Services.TryAddSingleton<IAuditTrail, NoAudit>();
        builder.Services.AddSingleton<IProtector, PickupProtector>();
        builder.Services.AddSingleton<PickupRetentionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PickupRetentionSweeper>());
        builder.Services.AddSingleton<PickupWebHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PickupWebHost>());
        return builder;
    }
}
