using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Relay;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Queue;

public static class QueueRegistration
{
    /// <summary>
    /// The stages (MessagePipeline walks them in order) and what drives them. The audit log and the
    /// recipient certificates come from AddAudit and AddSmime; without them the host refuses to
    /// start (<see cref="Hosting.RequiredParts"/>).
    /// </summary>
    public static IHostApplicationBuilder AddProcessing(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<InspectionStage>();   // what is in it
        builder.Services.AddSingleton<RoutingStage>();      // what each recipient gets
        builder.Services.AddSingleton<ProtectionStage>();   // the copies that leave
        builder.Services.AddSingleton<StageRunner>();

        builder.AddRouting();
        builder.AddGuard();
        builder.AddProtection();

        builder.Services.AddSingleton<MessagePipeline>();
        builder.Services.AddSingleton<MessageProcessor>();
        builder.Services.AddSingleton<HeldCopyProcessor>();
        builder.Services.AddSingleton<FallbackCopyMaker>();
        builder.Services.AddSingleton<BounceWriter>();
        builder.Services.AddSingleton<OutboundDeliverer>();
        builder.Services.AddSingleton<DatabaseWritePause>();
        builder.Services.AddHostedService<QueueWorker>();
        return builder;
    }

    /// <summary>Rules from configuration (re-read when the file changes) and the engine that applies them.</summary>
    public static IHostApplicationBuilder AddRouting(this IHostApplicationBuilder builder)
    {
        // With direct delivery on, the built-in default sends images TLS-first (Direct:Enabled).
        builder.Services.AddSingleton(sp => new RuleSetProvider(
            sp.GetRequiredService<IConfiguration>(), RoutingStage.KnownImageKinds, sp.GetRequiredService<ILogger<RuleSetProvider>>(),
            RuleSet.DefaultFor(sp.GetService<Direct.DirectOptions>()?.Enabled == true)));
        builder.Services.AddSingleton<RuleEngine>();
        return builder;
    }

    /// <summary>The misdirection guard's checks and what they know (the audit's deliveries, IT's list).</summary>
    public static IHostApplicationBuilder AddGuard(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp => new Guard.GuardChecks(
            sp.GetRequiredService<Guard.GuardOptions>(), sp.GetRequiredService<Configuration.GatewayOptions>().Domains));
        builder.Services.AddSingleton<Guard.GuardKnowledgeCache>();
        builder.Services.AddSingleton<Guard.GuardStage>();       // who might be the wrong address
        builder.Services.AddSingleton<Guard.GuardNotices>();
        builder.Services.AddSingleton<Guard.SenderMail>();
        builder.Services.AddSingleton<Guard.GuardDecisions>();
        builder.Services.AddSingleton<Guard.SenderActions>();
        return builder;
    }

    /// <summary>One protector per action; Smime and Pickup register theirs with their own features.</summary>
    public static IHostApplicationBuilder AddProtection(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OutboundMessageWriter>();
        builder.Services.AddSingleton<IProtector>(sp => new PassThroughProtector(RoutingAction.Relay, sp.GetRequiredService<OutboundMessageWriter>()));
        builder.Services.AddSingleton<IProtector>(sp => new PassThroughProtector(RoutingAction.RequireTls, sp.GetRequiredService<OutboundMessageWriter>()));
        builder.Services.AddSingleton<IProtector>(sp => new PassThroughProtector(RoutingAction.TlsFirst, sp.GetRequiredService<OutboundMessageWriter>()));
        return builder;
    }
}
