using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Relay;

public static class RelayRegistration
{
    // TODO(helper: relay): register IRelayTransport (Directory or Smtp by Relay:Mode).
    public static IHostApplicationBuilder AddRelay(this IHostApplicationBuilder builder) => builder;
}
