using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Processing;

public static class ProcessingRegistration
{
    /// <summary>
    /// The stages, in the order a message walks them. Inspection, Routing and Protection join here
    /// as they are built; until then every recipient gets the message unchanged (Relay).
    /// </summary>
    public static IHostApplicationBuilder AddProcessing(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IPipelineStage, InspectionStage>();
        builder.Services.AddSingleton<IPipelineStage, RelayEverythingStage>();

        builder.Services.AddSingleton<MessagePipeline>();
        builder.Services.AddSingleton<MessageProcessor>();
        builder.Services.AddSingleton<BounceWriter>();
        builder.Services.AddSingleton<OutboundDeliverer>();
        builder.Services.AddHostedService<QueueWorker>();
        return builder;
    }
}
