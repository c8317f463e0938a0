using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Relay;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Queue;

public static class QueueRegistration
{
    /// <summary>The stages, in the order a message walks them, and what drives them.</summary>
    public static IHostApplicationBuilder AddProcessing(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IPipelineStage, InspectionStage>();   // what is in it
        builder.Services.AddSingleton<IPipelineStage, RoutingStage>();      // what each recipient gets
        builder.Services.AddSingleton<IPipelineStage, ProtectionStage>();   // the copies that leave

        builder.AddRouting();
        builder.AddProtection();
        // The audit log replaces these when it is registered; until then nothing is recorded.
        builder.Services.TryAddSingleton<IDisclosureRecorder, NoAudit>();
        builder.Services.TryAddSingleton<IAuditTrail, NoAudit>();

        builder.Services.AddSingleton<MessagePipeline>();
        builder.Services.AddSingleton<MessageProcessor>();
        builder.Services.AddSingleton<BounceWriter>();
        builder.Services.AddSingleton<OutboundDeliverer>();
        builder.Services.AddSingleton<DatabaseWritePause>();
        builder.Services.AddHostedService<QueueWorker>();
        return builder;
    }

    /// <summary>Rules from configuration (re-read when the file changes) and the engine that applies them.</summary>
    public static IHostApplicationBuilder AddRouting(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new RuleSetProvider(
            sp.GetRequiredService<IConfiguration>(), RoutingStage.KnownImageKinds, sp.GetRequiredService<ILogger<RuleSetProvider>>()));
        builder.Services.AddSingleton<RuleEngine>();
        // The certificate store replaces this once registered; until then nobody has a certificate.
        builder.Services.TryAddSingleton<IRecipientCertificates, NoRecipientCertificates>();
        return builder;
    }

    /// <summary>One protector per action; Smime and Pickup register theirs with their own features.</summary>
    public static IHostApplicationBuilder AddProtection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OutboundMessageWriter>();
        builder.Services.AddSingleton<IProtector>(sp => new PassThroughProtector(RoutingAction.Relay, sp.GetRequiredService<OutboundMessageWriter>()));
        builder.Services.AddSingleton<IProtector>(sp => new PassThroughProtector(RoutingAction.RequireTls, sp.GetRequiredService<OutboundMessageWriter>()));
        return builder;
    }
}
