using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

// Sets Relay__Password in the environment, which every host built meanwhile would read.
[NonParallelizable]
public class SecretSourcesTests
{
    [Test]
    public async Task Cli_RelayPasswordOnTheCommandLine_IsRefusedNamingTheKey()
    {
        using var dir = new TempDirectory();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["queue", "list", $"--Gateway:DataDirectory={dir.Path}", "--Relay:Password=hunter2"], new StringReader(""), new StringWriter(), stderr);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("Relay:Password: secrets are read from the environment only (Relay__Password)"));
        Assert.That(stderr.ToString(), Does.Not.Contain("hunter2"), "never echo a secret");
    }

    [Test]
    public async Task Cli_RelayPasswordFromTheEnvironment_IsAccepted()
    {
        using var dir = new TempDirectory();
        Environment.SetEnvironmentVariable("Relay__Password", "hunter2");
        try
        {
            var stderr = new StringWriter();
            var code = await GatewayCommandLine.RunAsync(["queue", "list", $"--Gateway:DataDirectory={dir.Path}"], new StringReader(""), new StringWriter(), stderr);
            Assert.That(code, Is.Zero, stderr.ToString());
        }
        finally
        {
            Environment.SetEnvironmentVariable("Relay__Password", null);
            SqliteConnection.ClearAllPools();
        }
    }
}
