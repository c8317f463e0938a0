using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Ingress;

public static class IngressRegistration
{
    /// <summary>
    /// SMTP in: listener, relay permission, AUTH with lockout, and the store that hands each message to
    /// the spool. Needs an <see cref="Users.IUserDirectory"/> registered (by AddStorage).
    /// </summary>
    public static IHostApplicationBuilder AddIngress(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(sp => new TrustedNetworks(sp.GetRequiredService<SmtpOptions>().TrustedNetworks));
        services.AddSingleton<TlsCertificateProvider>();
        services.AddSingleton<AuthFailureTracker>();
        // Taken up by the user directory when present (AddStorage), so a returning user's AUTH skips PBKDF2.
        services.AddSingleton(sp => new Users.VerifiedPasswordCache(sp.GetRequiredService<SmtpOptions>().AuthCacheLifetime, sp.GetService<TimeProvider>()));
        services.AddSingleton<GatewayUserAuthenticator>();
        services.AddSingleton<RelayPermissionFilter>();
        services.AddSingleton<SpoolMessageStore>();
        services.AddSingleton<SmtpIngressService>();
        // Registered after storage, so StartupPreparation has made the folders and the database first.
        services.AddHostedService(sp => sp.GetRequiredService<SmtpIngressService>());
        return builder;
    }
}
