using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Routing;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Hosting;

/// <summary>What IT sees when `serve` cannot start: one line naming the problem and the key or file and line, exit code 2.</summary>
// Sets PHIMAIL_CONFIG (TestConfig) while a host is built: process-wide.
[NonParallelizable]
public class StartupFailureTests
{
    private TempDirectory _files = null!;

    [SetUp]
    public void SetUp() => _files = new TempDirectory();

    [TearDown]
    public void TearDown() => _files.Dispose();

    private string[] Serve(int smtpPort, int pickupPort, params string[] more) =>
        ["serve", $"--Gateway:DataDirectory={Path.Combine(_files.Path, "data")}", $"--Smtp:Port={smtpPort}", $"--Pickup:Port={pickupPort}", .. more];

    private static async Task AssertOneLineFailureAsync(GatewayProcess gateway, string expected)
    {
        var code = await gateway.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var output = gateway.Output;
        Assert.That(code, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain(expected));
        Assert.That(output, Does.Not.Contain("   at ").And.Not.Contain("Unhandled exception").And.Not.Contain("crit:").And.Not.Contain("fail:"), "no stack trace, no host error dump");
        Assert.That(output.Split('\n').Count(l => l.Contains(expected, StringComparison.Ordinal)), Is.EqualTo(1));
    }

    private static TcpListener Occupy(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    [Test]
    public async Task Serve_ConfigFileNotJson_OneLineWithTheFileAndLine()
    {
        var config = Path.Combine(_files.Path, "appsettings.json");
        await File.WriteAllTextAsync(config, "{\n  \"Smtp\": { \"Port\": 2600, }\n  \"Relay\": {}\n}\n");
        using var gateway = new GatewayProcess(new Dictionary<string, string> { ["PHIMAIL_CONFIG"] = config },
            Serve(TestGateway.GetFreePort(), TestGateway.GetFreePort()));
        await AssertOneLineFailureAsync(gateway, $"Configuration error: {config}: line 3, position 3: not valid JSON:");
    }

    [Test]
    public async Task Serve_SmtpPortInUse_OneLineNamingTheKey()
    {
        using var taken = Occupy(out var port);
        using var gateway = new GatewayProcess(Serve(port, TestGateway.GetFreePort()));
        await AssertOneLineFailureAsync(gateway, "Start-up error: Smtp:Port (or Smtp:ImplicitTlsPort): the address is already in use");
    }

    [Test]
    public async Task Serve_PickupPortInUse_OneLineNamingTheKey()
    {
        using var taken = Occupy(out var port);
        using var gateway = new GatewayProcess(Serve(TestGateway.GetFreePort(), port));
        await AssertOneLineFailureAsync(gateway, $"Start-up error: Pickup:Port: Failed to bind to address http://127.0.0.1:{port}: address already in use");
    }

    [Test]
    public async Task Serve_PfxWithWrongPassword_OneLineNamingTheKeys()
    {
        var key = Path.Combine(_files.Path, "tls.key");
        var pem = Path.Combine(_files.Path, "tls.pem");
        var pfx = Path.Combine(_files.Path, "tls.pfx");
        Assert.That(Openssl.Run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", "/CN=gateway.test").ExitCode, Is.EqualTo(0));
        Assert.That(Openssl.Run("pkcs12", "-export", "-in", pem, "-inkey", key, "-out", pfx, "-passout", "pass:the-right-one").ExitCode, Is.EqualTo(0));
        using var gateway = new GatewayProcess(new Dictionary<string, string> { ["Smtp__CertificatePassword"] = "a-wrong-one" },
            Serve(TestGateway.GetFreePort(), TestGateway.GetFreePort(), $"--Smtp:CertificatePath={pfx}"));
        await AssertOneLineFailureAsync(gateway, $"Configuration error: Smtp:CertificatePath: cannot open '{pfx}' as a PFX (wrong Smtp:CertificatePassword?)");
    }

    [Test]
    public async Task Serve_ConfigFileBrokenWhileRunning_LoggedOnceAndTheRulesInForceStay()
    {
        const string rules = """{ "Rules": [ { "Name": "lab-tls", "When": { "RecipientDomains": [ "smilelab.example" ] }, "Action": "RequireTls" }, { "Name": "rest", "Action": "Relay" } ] }""";
        const string edited = """{ "Rules": [ { "Name": "only-rule", "Action": "Pickup" } ] }""";
        var recorder = new RecordingLoggerProvider();
        TestGateway gw;
        using (var config = TestConfig.Use(_files.Path, rules))
        {
            gw = await TestGateway.StartAsync(configureServices: s => s.AddSingleton<ILoggerProvider>(recorder));
        }
        await using (gw)
        {
            var provider = gw.Services.GetRequiredService<RuleSetProvider>();
            Assert.That(provider.Current.Rules.Select(r => r.Name), Is.EqualTo(new[] { "lab-tls", "rest" }));
            var path = Path.Combine(_files.Path, "test-appsettings.json");

            await File.WriteAllTextAsync(path, "{ \"Rules\": [ { \"Name\": \"half-written\", ");
            await PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.WithId(9001).Any()), "the broken edit is logged", seconds: 30);
            var logged = recorder.WithId(9001).First();
            Assert.That(logged.Level, Is.EqualTo(LogLevel.Error));
            Assert.That(logged.Message, Does.Contain(path).And.Contain("not valid JSON").And.Contain("the rules and settings in force stay"));
            Assert.That(provider.Current.Rules.Select(r => r.Name), Is.EqualTo(new[] { "lab-tls", "rest" }), "neither the edit nor the built-in defaults took effect");
            Assert.That(provider.Current.IsBuiltInDefault, Is.False);

            var reloaded = new TaskCompletionSource<RuleSet>(TaskCreationOptions.RunContinuationsAsynchronously);
            provider.Reloaded += r => reloaded.TrySetResult(r);
            await File.WriteAllTextAsync(path, edited);
            var next = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.That(next.Rules.Select(r => r.Name), Is.EqualTo(new[] { "only-rule" }), "a fixed file takes effect again");
        }
    }
}
