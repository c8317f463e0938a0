using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Protection;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.PickupWeb;

public static class PickupRegistration
{
    /// <summary>The Pickup protector, the package store, the recipient's page and the retention sweeper.</summary>
    public static IHostApplicationBuilder AddPickup(this IHostApplicationBuilder builder)
    {
        builder.AddPickupPackageStore();
        builder.Services.AddSingleton<PickupCodeMailer>();
        builder.Services.AddSingleton<IProtector, PickupProtector>();
        builder.Services.AddSingleton<PickupRetentionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PickupRetentionSweeper>());
        builder.Services.AddSingleton<PickupWebHost>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<PickupWebHost>());
        return builder;
    }

    /// <summary>Just the package store (for the <c>pickup</c> verbs); its records are storage's (AddStorage).</summary>
    public static IHostApplicationBuilder AddPickupPackageStore(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<PickupPackageStore>();
        return builder;
    }
}
