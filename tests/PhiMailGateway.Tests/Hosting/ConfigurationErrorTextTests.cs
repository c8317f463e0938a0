using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Hosting;

// An in-process `serve` replaces Console.Out for the process.
[NonParallelizable]
public class ConfigurationErrorTextTests
{
    [TestCase("--Relay:Mode=smarthost", "Configuration error: Relay:Mode: 'smarthost' is not one of Directory, Smtp.")]
    [TestCase("--Smtp:Port=abc", "Configuration error: Smtp:Port: 'abc' is not a whole number.")]
    [TestCase("--Smtp:SessionTimeout=two minutes", "Configuration error: Smtp:SessionTimeout: 'two minutes' is not a duration (hh:mm:ss or d.hh:mm:ss).")]
    [TestCase("--Smtp:RequireAuthentication=yes please", "Configuration error: Smtp:RequireAuthentication: 'yes please' is not true or false.")]
    public async Task Cli_BadlyTypedValue_OneLineNamingTheKeyAndWhatItMayBe(string setting, string expected)
    {
        using var data = new TempDirectory();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(
            ["serve", $"--Gateway:DataDirectory={data.Path}", $"--Smtp:Port={TestGateway.GetFreePort()}", $"--Pickup:Port={TestGateway.GetFreePort()}", setting],
            TextReader.Null, new StringWriter(), stderr).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString().TrimEnd(), Is.EqualTo(expected));
    }
}
