using Microsoft.Extensions.Options;
using PhiMailGateway.Cli;
using PhiMailGateway.Configuration;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Cli;

public class CliContextTests
{
    [Test]
    public void CliContext_CommandLineOverride_WinsOverFile()
    {
        using var context = CliContext.Create(["--Gateway:DataDirectory=/tmp/phimail-override", "--Smtp:Port=2600"], CliSections.Smtp);
        Assert.That(context.Gateway.DataDirectory, Is.EqualTo("/tmp/phimail-override"));
        Assert.That(context.Get<SmtpOptions>().Port, Is.EqualTo(2600));
    }

    [Test]
    public void CliContext_SeveralBadValues_ReportsAllFailures()
    {
        var e = Assert.Throws<OptionsValidationException>(() => CliContext.Create(
            ["--Gateway:Domains:0=bad domain", "--Smtp:Address=nowhere", "--Relay:Mode=Smtp"], CliSections.All));
        Assert.That(e!.Failures, Has.Some.Contains("Gateway:Domains:0"));
        Assert.That(e.Failures, Has.Some.Contains("Smtp:Address"));
        Assert.That(e.Failures, Has.Some.Contains("Relay:Host"));
    }

    [Test]
    public void CliContext_SectionNotRequested_NotValidated()
    {
        // users does not need Relay, whose password lives only in the service's environment.
        Assert.That(() => { using var _ = CliContext.Create(["--Relay:Mode=Smtp"], CliSections.Smtp); }, Throws.Nothing);
    }

    [Test]
    public void CliContext_Services_UserDirectoryIsSqliteSingleton()
    {
        using var context = CliContext.Create(["--Gateway:DataDirectory=/tmp/phimail-unused"]);
        var first = context.Get<IUserDirectory>();
        Assert.That(first, Is.InstanceOf<SqlUserDirectory>());
        Assert.That(context.Get<IUserDirectory>(), Is.SameAs(first), "one directory per process");
    }
}
