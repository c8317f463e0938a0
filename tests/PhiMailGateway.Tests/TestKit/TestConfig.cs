using PhiMailGateway.Hosting;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// Points the gateway at a configuration file of the test's own while a host is built. Needed for
/// rules: configuration arrays merge by index, so `Rules:0` from an override would replace only the
/// first rule of the shipped appsettings.json and keep the others.
/// </summary>
public sealed class TestConfig : IDisposable
{
    private readonly string? _previous = Environment.GetEnvironmentVariable(GatewayConfiguration.ConfigFileVariable);

    private TestConfig(string path) => Environment.SetEnvironmentVariable(GatewayConfiguration.ConfigFileVariable, path);

    /// <summary>Writes <paramref name="json"/> to a file in <paramref name="directory"/> and uses it until disposed.</summary>
    public static TestConfig Use(string directory, string json)
    {
        var path = Path.Combine(directory, "test-appsettings.json");
        File.WriteAllText(path, json);
        return new TestConfig(path);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(GatewayConfiguration.ConfigFileVariable, _previous);
}
