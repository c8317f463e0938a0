using Microsoft.Extensions.Configuration;

namespace PhiMailGateway.Hosting;

/// <summary>
/// The configuration sources every verb shares, lowest first: the JSON file, environment variables
/// (<c>Smtp__Port=2525</c>), then <c>--Smtp:Port=2525</c> on the command line.
/// The file is <c>config/appsettings.json</c> beside the executable, or the path in <c>PHIMAIL_CONFIG</c>.
/// </summary>
public static class GatewayConfiguration
{
    public const string ConfigFileVariable = "PHIMAIL_CONFIG";

    public static string DefaultConfigFile =>
        Environment.GetEnvironmentVariable(ConfigFileVariable) is { Length: > 0 } path
            ? Path.GetFullPath(path)
            : Path.Combine(AppContext.BaseDirectory, "config", "appsettings.json");

    /// <param name="reloadOnChange">Watch the file (serve: routing rules follow edits); CLI verbs read it once.</param>
    /// <param name="reloads">Where failed re-reads of the file are reported (serve logs them); null for CLI verbs.</param>
    public static void AddGatewaySources(this IConfigurationBuilder builder, string[] configArgs, IDictionary<string, string?>? overrides = null, bool reloadOnChange = false,
        ConfigFileReloads? reloads = null)
    {
        var file = new ConfigFileReloads.Source(reloads ?? new ConfigFileReloads())
        {
            Path = DefaultConfigFile,
            Optional = true,
            ReloadOnChange = reloadOnChange,
        };
        file.ResolveFileProvider();
        builder.Add(file);
        builder.AddEnvironmentVariables();
        builder.AddCommandLine(configArgs);
        if (overrides is not null) builder.AddInMemoryCollection(overrides);
    }
}
