using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Hosting;

public static class StorageRegistration
{
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<GatewayDatabase>();
        builder.Services.AddSingleton<SpoolDirectory>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => MasterKey.LoadOrCreate(sp.GetRequiredService<GatewayOptions>()));
        builder.Services.AddSingleton<MessageQueue>();
        builder.Services.AddSingleton<ProcessingSignal>();
        builder.Services.AddSingleton<IMessageAcceptor, SpoolMessageAcceptor>();
        builder.Services.AddSingleton<SpoolRecovery>();
        // Registered before ingress, so the folders and database exist before the listener opens.
        builder.Services.AddHostedService<StartupPreparation>();
        return builder;
    }
}
