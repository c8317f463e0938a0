using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Ingress;

public static class IngressRegistration
{
    // TODO(helper: ingress): SmtpServer listener, SpoolMessageStore, relay-permission filter, authenticator.
    public static IHostApplicationBuilder AddIngress(this IHostApplicationBuilder builder) => builder;
}
