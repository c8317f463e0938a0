using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Inspection;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Hosting;

public static class OptionsRegistration
{
    /// <summary>Binds every options section and validates it at start-up.</summary>
    public static IHostApplicationBuilder AddGatewayOptions(this IHostApplicationBuilder builder)
    {
        Add<GatewayOptions, GatewayOptionsValidator>(builder, GatewayOptions.Section);
        Add<SmtpOptions, SmtpOptionsValidator>(builder, SmtpOptions.Section);
        Add<RelayOptions, RelayOptionsValidator>(builder, RelayOptions.Section);
        Add<InspectionOptions, InspectionOptionsValidator>(builder, InspectionOptions.Section);
        Add<AuditOptions, AuditOptionsValidator>(builder, AuditOptions.Section);
        Add<SmimeOptions, SmimeOptionsValidator>(builder, SmimeOptions.Section);
        Add<PickupOptions, PickupOptionsValidator>(builder, PickupOptions.Section);
        builder.Services.AddSingleton<IValidateOptions<PickupOptions>, PickupBaseUrlValidator>();
        Add<MetricsOptions, MetricsOptionsValidator>(builder, MetricsOptions.Section);
        Add<Guard.GuardOptions, Guard.GuardOptionsValidator>(builder, Guard.GuardOptions.Section);
        Add<Direct.DirectOptions, Direct.DirectOptionsValidator>(builder, Direct.DirectOptions.Section);
        Add<StorageOptions, StorageOptionsValidator>(builder, StorageOptions.Section);
        return builder;
    }

    private static void Add<TOptions, TValidator>(IHostApplicationBuilder builder, string section)
        where TOptions : class
        where TValidator : class, IValidateOptions<TOptions>
    {
        builder.Services.AddOptions<TOptions>().Bind(builder.Configuration.GetSection(section)).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
        // Most components take the plain options object: settings are read once at start-up.
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<TOptions>>().Value);
    }
}
