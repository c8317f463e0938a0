using Microsoft.Extensions.Options;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

public class AuditCommandTests
{
    [TestCase("export", "--bogus")]
    [TestCase("export", "--since", "yesterday-ish")]
    [TestCase("export", "--until", "2024-13-45")]
    [TestCase("export", "--since", "12/05/2026")]
    [TestCase("export", "--since", "5 Dec 2026")]
    [TestCase("export", "--until", "2026.12.05")]
    [TestCase("export", "--format", "xml")]
    [TestCase("export", "--patient")]
    [TestCase("export", "--since", "2024-02-01", "--until", "2024-01-01")]
    [TestCase("verify", "extra")]
    [TestCase("frobnicate")]
    public async Task AuditCommand_BadArguments_ExitTwo(params string[] args)
    {
        using var data = new TempDirectory();
        var (code, _, error) = await AuditTestKit.CliAsync(data.Path, ["audit", .. args]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("audit"));
    }

    [TestCase("2026-12-05")]
    [TestCase("2026-12-05T10:30")]
    [TestCase("2026-12-05T10:30:15Z")]
    [TestCase("2026-12-05T10:30:15.250+01:00")]
    public async Task AuditExport_IsoDate_AcceptedAsADate(string since)
    {
        using var data = new TempDirectory();
        var (code, _, error) = await AuditTestKit.CliAsync(data.Path, ["audit", "export", "--since", since]);
        // The empty data directory has no master key yet (exit 1); what matters is that the date was read.
        Assert.That(error, Does.Not.Contain("--since"), error);
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain("master key"));
    }

    [Test]
    public async Task AuditCommand_RetentionYearsBelowSix_RefusedNamingTheKey()
    {
        using var data = new TempDirectory();
        var (code, _, error) = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--Audit:RetentionYears=5");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("Configuration error: Audit:RetentionYears: must be at least 6"));
    }

    [Test]
    public void Gateway_RetentionYearsBelowSix_RefusedAtStartUpNamingTheKey()
    {
        var e = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var gw = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Audit:RetentionYears"] = "5" });
        });
        Assert.That(e!.Message, Does.Contain("Audit:RetentionYears"));
    }

    [Test]
    public async Task AuditCommand_NoMasterKey_RefusesRatherThanCreatingOne()
    {
        using var data = new TempDirectory();
        var (code, _, error) = await AuditTestKit.CliAsync(data.Path, "audit", "verify");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("master key"));
        Assert.That(File.Exists(Path.Combine(data.Path, "keys", "master.key")), Is.False);
    }
}
