using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.Audit;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Hosting;

/// <summary>
/// The parts `serve` must not run without. There are no stand-ins: a gateway composed without its
/// audit log would relay with no disclosure record (invariant 2 silently off), and one without a
/// certificate source would route as if no recipient had a certificate. So the host refuses to
/// start, in one line that names the missing part.
/// </summary>
public static class RequiredParts
{
    private static readonly (Type Service, string Part)[] Parts =
    [
        (typeof(IDisclosureRecorder), "the audit log's disclosure recorder (AddAudit); no message may leave before its disclosure record is committed"),
        (typeof(IAuditTrail), "the audit trail (AddAudit); relay and pickup events must be recorded"),
        (typeof(IRecipientCertificates), "the recipient certificate source (AddSmime); routing's RecipientHasCertificate needs it"),
    ];

    /// <exception cref="MissingPartException">The first required part nothing registered.</exception>
    public static void Check(IServiceCollection services)
    {
        foreach (var (service, part) in Parts)
        {
            if (!services.Any(d => d.ServiceType == service))
                throw new MissingPartException($"the gateway was composed without {part}.");
        }
    }
}

/// <summary>A required part of the gateway is not registered; <see cref="StartupFailure"/> says so in one line.</summary>
public sealed class MissingPartException(string message) : InvalidOperationException(message);
