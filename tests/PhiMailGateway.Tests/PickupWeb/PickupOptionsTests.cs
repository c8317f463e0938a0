using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

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

    // An in-process `serve` replaces Console.Out for the process.
    [Test]
    [NonParallelizable]
    public async Task Serve_SmtpRelayWithoutPickupBaseUrl_ExitsNamingPickupBaseUrl()
    {
        using var data = new TempDirectory();
        var stderr = new StringWriter();
        var code = await PhiMailGateway.Cli.GatewayCommandLine.RunAsync(
            ["serve", $"--Gateway:DataDirectory={data.Path}", $"--Smtp:Port={TestGateway.GetFreePort()}", $"--Pickup:Port={TestGateway.GetFreePort()}",
             "--Relay:Mode=Smtp", "--Relay:Host=smarthost.practice.example"],
            TextReader.Null, new StringWriter(), stderr).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(code, Is.EqualTo(2), stderr.ToString());
        Assert.That(stderr.ToString(), Does.Contain("Configuration error: Pickup:BaseUrl: required when Relay:Mode is Smtp"));
        Assert.That(stderr.ToString().Trim().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace");
    }

    [Test]
    public void PickupBaseUrlValidator_OutboxModeOrUrlSet_Succeeds()
    {
        static IConfiguration Config(string? mode) => new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Relay:Mode"] = mode }).Build();
        Assert.Multiple(() =>
        {
            Assert.That(new PickupBaseUrlValidator(Config(null)).Validate(null, new PickupOptions()).Succeeded, Is.True, "the embedded default writes to the outbox");
            Assert.That(new PickupBaseUrlValidator(Config("Directory")).Validate(null, new PickupOptions()).Succeeded, Is.True);
            Assert.That(new PickupBaseUrlValidator(Config("smtp")).Validate(null, new PickupOptions()).Failed, Is.True, "the mode is case-insensitive");
            Assert.That(new PickupBaseUrlValidator(Config("Smtp")).Validate(null, new PickupOptions { BaseUrl = "https://pickup.practice.example" }).Succeeded, Is.True);
        });
    }

    [TestCase("http://127.0.0.1:5080", "points at this machine")]
    [TestCase("https://localhost/", "points at this machine")]
    [TestCase("http://[::1]:5080", "points at this machine")]
    [TestCase("http://0.0.0.0:5080", "points at this machine")]
    [TestCase("http://pickup.practice.example", "is plain http")]
    [TestCase("https://pickup.practice.example", null)]
    [TestCase("https://192.168.1.20:5443", null)]
    public void PickupBaseUrlValidator_WhyRecipientsMayNotOpen_NamesTheProblem(string url, string? expected) =>
        Assert.That(PickupBaseUrlValidator.WhyRecipientsMayNotOpen(url), Is.EqualTo(expected));

    [Test]
    public async Task Serve_SmtpRelayWithLoopbackBaseUrl_StartsAndWarnsOnce()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var recorder = new RecordingLoggerProvider();
        await using (var gw = await TestGateway.StartAsync(PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.SmarthostSettings(upstream),
            services => services.AddSingleton<ILoggerProvider>(recorder)))
        {
            var warnings = recorder.WithId(7203).ToList();
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0].Level, Is.EqualTo(LogLevel.Warning));
            Assert.That(warnings[0].Message, Does.Contain("points at this machine").And.Contain("Pickup:BaseUrl"));
        }

        var quiet = new RecordingLoggerProvider();
        var settings = PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.SmarthostSettings(upstream);
        settings["Pickup:BaseUrl"] = "https://pickup.practice.example";
        settings["Logging:LogLevel:PhiMailGateway"] = "Information";
        await using (var gw = await TestGateway.StartAsync(settings, services => services.AddSingleton<ILoggerProvider>(quiet)))
        {
            Assert.That(quiet.WithId(7201).ToList(), Has.Count.EqualTo(1), "the page started");
            Assert.That(quiet.WithId(7203).ToList(), Is.Empty, "a public https URL needs no warning");
        }
    }
}
