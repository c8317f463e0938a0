using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Relay;

public static class RelayRegistration
{
    /// <summary>
    /// The relay's parts, all singletons: <see cref="RetryPolicy"/>, <see cref="UnrecordedOutcomes"/>, <see cref="DsnBuilder"/>, and
    /// <see cref="IRelayTransport"/> chosen by Relay:Mode (<see cref="DirectoryRelay"/> or
    /// <see cref="SmarthostRelay"/>, whose pooled connections the container closes on shutdown).
    /// </summary>
    public static IHostApplicationBuilder AddRelay(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RetryPolicy>();
        builder.Services.AddSingleton<UnrecordedOutcomes>();
        builder.Services.AddSingleton<DsnBuilder>();
        builder.Services.AddSingleton<DirectoryRelay>();
        builder.Services.AddSingleton<SmarthostRelay>();
        builder.Services.AddSingleton<IRelayTransport>(sp => sp.GetRequiredService<RelayOptions>().Mode switch
        {
            RelayMode.Smtp => sp.GetRequiredService<SmarthostRelay>(),
            _ => sp.GetRequiredService<DirectoryRelay>(),
        });
        // TlsFirst copies go straight to the recipient's MX when Direct:Enabled; everything else as above.
        builder.Services.AddSingleton<Direct.DnsLookup>();
        builder.Services.AddSingleton(sp => Direct.MxCertificateCheck.For(sp.GetRequiredService<Direct.DirectOptions>()));
        builder.Services.AddSingleton<Direct.MtaStsPolicies>();
        builder.Services.AddSingleton<Direct.DirectTransport>();
        builder.Services.AddHostedService<DirectDnsRecordsCheck>();
        builder.Services.AddSingleton(sp => new RelayTransports(sp.GetRequiredService<IRelayTransport>(),
            sp.GetRequiredService<Direct.DirectOptions>().Enabled ? sp.GetRequiredService<Direct.DirectTransport>() : null));
        return builder;
    }
}
