using Microsoft.Extensions.Options;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Tests.Pickup;

public class PickupOptionsTests
{
    [Test]
    public void PickupOptions_Defaults_AreValidAndMatchTheDesign()
    {
        var o = new PickupOptions();
        Assert.That(new PickupOptionsValidator().Validate(null, o).Succeeded, Is.True);
        Assert.That(o.PublicBaseUrl, Is.EqualTo("http://127.0.0.1:5080"));
        Assert.That(o.LinkLifetime, Is.EqualTo(TimeSpan.FromDays(14)));
        Assert.That(o.MaxDownloads, Is.EqualTo(10));
        Assert.That(o.Scope, Is.EqualTo(PickupScope.Attachments));
    }

    [Test]
    public void PickupOptions_BadValues_FailNamingTheKey()
    {
        var result = new PickupOptionsValidator().Validate(null, new PickupOptions
        {
            Address = "0.0.0.0",
            Port = 0,
            MaxDownloads = 0,
            PracticeName = " ",
            FromAddress = "not an address",
            LinkLifetime = TimeSpan.Zero,
        });
        Assert.That(result.Failed, Is.True);
        var text = string.Join("\n", result.Failures!);
        foreach (var key in new[] { "Pickup:Port", "Pickup:MaxDownloads", "Pickup:PracticeName", "Pickup:FromAddress", "Pickup:LinkLifetime", "Pickup:BaseUrl" })
            Assert.That(text, Does.Contain(key + ":"), key);
        Assert.That(new PickupOptionsValidator().Validate(null, new PickupOptions { BaseUrl = "ftp://x" }).Failures, Has.Some.Contain("Pickup:BaseUrl"));
    }

    [Test]
    public async Task Serve_BadPickupPort_ExitsWithConfigurationError()
    {
        var stderr = new StringWriter();
        var code = await PhiMailGateway.Cli.GatewayCommandLine.RunAsync(["pickup", "list", "--Pickup:Port=99999", "--Gateway:DataDirectory=" + Path.GetTempPath()], TextReader.Null, new StringWriter(), stderr);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("Pickup:Port"));
    }
}
