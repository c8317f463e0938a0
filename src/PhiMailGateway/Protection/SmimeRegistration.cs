using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PhiMailGateway.Certificates;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection;

public static class SmimeRegistration
{
    /// <summary>
    /// The recipient certificate store, the rules' <c>RecipientHasCertificate</c> answered from it, and
    /// the Smime protector. Routing needs the certificate source, so the gateway does not start
    /// without this (<see cref="Hosting.RequiredParts"/>).
    /// </summary>
    public static IHostApplicationBuilder AddSmime(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton(sp =>
        {
            var errors = new List<string>();
            var anchors = TrustAnchorSet.Load(sp.GetRequiredService<SmimeOptions>().TrustAnchors, errors);
            // The options validator has reported these already; this is the last line of defence.
            return errors.Count == 0 ? anchors : throw new OptionsValidationException(SmimeOptions.Section, typeof(SmimeOptions), errors);
        });
        builder.Services.AddSingleton<PracticeSigner>();
        builder.Services.AddSingleton<IRecipientCertificates, StoredRecipientCertificates>();
        builder.Services.AddSingleton<IProtector, SmimeProtector>();
        return builder;
    }
}
