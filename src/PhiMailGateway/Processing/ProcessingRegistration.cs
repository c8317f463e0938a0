using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Processing;

public static class ProcessingRegistration
{
    public static IHostApplicationBuilder AddProcessing(this IHostApplicationBuilder builder) => builder;
}
