using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using PhiMailGateway.Audit;
using PhiMailGateway.Hosting;
using PhiMailGateway.Routing;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Hosting;

/// <summary>No stand-ins: a gateway composed without a part that an invariant rests on does not start.</summary>
public class RequiredPartsTests
{
    private static Exception? BuildWithout<TService>()
    {
        using var dir = new TempDirectory();
        try
        {
            using var host = GatewayHost.Build([], new Dictionary<string, string?> { ["Gateway:DataDirectory"] = dir.Path },
                services => services.RemoveAll<TService>());
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    [Test]
    public void GatewayHost_ComposedWithoutTheAuditLog_RefusesToStartInOneLineNamingIt()
    {
        var error = BuildWithout<IDisclosureRecorder>();
        Assert.That(error, Is.TypeOf<MissingPartException>(), "without the audit log, invariant 2 would silently be off");
        var line = StartupFailure.Describe(error!);
        Assert.That(line, Does.StartWith("Start-up error: ").And.Contain("audit log").And.Contain("AddAudit"));
        Assert.That(line, Does.Not.Contain("\n"), "one line, as every start-up failure IT can act on");
    }

    [Test]
    public void GatewayHost_ComposedWithoutTheAuditTrail_RefusesToStart()
    {
        var error = BuildWithout<IAuditTrail>();
        Assert.That(error, Is.TypeOf<MissingPartException>());
        Assert.That(StartupFailure.Describe(error!), Does.Contain("audit trail"));
    }

    [Test]
    public void GatewayHost_ComposedWithoutACertificateSource_RefusesToStart()
    {
        var error = BuildWithout<IRecipientCertificates>();
        Assert.That(error, Is.TypeOf<MissingPartException>(), "routing would otherwise act as if no recipient had a certificate");
        Assert.That(StartupFailure.Describe(error!), Does.Contain("certificate source").And.Contain("AddSmime"));
    }

    [Test]
    public void GatewayHost_FullComposition_Builds()
    {
        using var dir = new TempDirectory();
        using var host = GatewayHost.Build([], new Dictionary<string, string?> { ["Gateway:DataDirectory"] = dir.Path });
        Assert.That(host.Services.GetRequiredService<IDisclosureRecorder>(), Is.TypeOf<DisclosureLog>(), "the real audit log, not a stand-in");
        Assert.That(host.Services.GetRequiredService<PhiMailGateway.Pipeline.MessageProcessor>(), Is.Not.Null, "every stage and its parts resolve");
    }
}
