using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.EnvironmentVariables;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Configuration.Memory;

namespace PhiMailGateway.Hosting;

/// <summary>
/// Secrets come from the environment only: a password in appsettings.json ends up in backups and
/// version control, one on the command line in every user's process list. Finding one anywhere
/// else stops start-up with a message that says where it was.
/// </summary>
public static class SecretSources
{
    public static readonly string[] Keys = ["Relay:Password", "Smtp:CertificatePassword", "Smime:SigningCertificatePassword", "Storage:ConnectionString"];

    public static IEnumerable<string> Check(IConfiguration configuration)
    {
        if (configuration is not IConfigurationRoot root) yield break;
        foreach (var provider in root.Providers)
        {
            // In-memory sources are the tests' (and embedders') own code, not a file or a command line.
            if (provider is EnvironmentVariablesConfigurationProvider or MemoryConfigurationProvider) continue;
            foreach (var key in Keys)
            {
                if (!provider.TryGet(key, out var value) || string.IsNullOrEmpty(value)) continue;
                var where = provider is JsonConfigurationProvider json ? $"the file {json.Source.Path}" : "the command line";
                yield return $"{key}: secrets are read from the environment only ({key.Replace(":", "__", StringComparison.Ordinal)}); remove it from {where}.";
            }
        }
    }
}
