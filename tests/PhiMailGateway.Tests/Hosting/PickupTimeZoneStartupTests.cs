using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Hosting;

/// <summary>Pickup:TimeZone is checked when `serve` starts, not when the first notice goes out.</summary>
public class PickupTimeZoneStartupTests
{
    [Test]
    public async Task Serve_PickupTimeZoneUnknown_ExitsTwoWithOneLineNamingTheKey()
    {
        using var files = new TempDirectory();
        using var gateway = new GatewayProcess("serve", $"--Gateway:DataDirectory={Path.Combine(files.Path, "data")}",
            $"--Smtp:Port={TestGateway.GetFreePort()}", $"--Pickup:Port={TestGateway.GetFreePort()}", "--Pickup:TimeZone=Mars/Olympus_Mons");
        var code = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(code, Is.EqualTo(2), gateway.Output);
        Assert.That(gateway.Output.Split('\n').Count(l => l.Contains("Pickup:TimeZone: 'Mars/Olympus_Mons' is not a known IANA time zone", StringComparison.Ordinal)),
            Is.EqualTo(1), gateway.Output);
        Assert.That(gateway.Output, Does.Not.Contain("   at "), "no stack trace");
    }
}
