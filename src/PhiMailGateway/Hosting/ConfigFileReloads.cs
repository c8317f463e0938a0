using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Hosting;

/// <summary>
/// The configuration file of a running gateway is re-read when IT edits it (the routing rules follow).
/// An edit that is not valid JSON must not take effect, and must not silently empty the configuration
/// either: the stock JSON provider drops all the file's values when a reload fails, after which the
/// rules would fall back to the built-in defaults. This provider keeps the values it had and reports
/// the failure, which <see cref="ConfigFileReloadLogger"/> logs. A failure on the first load still
/// stops start-up (said in one line by <see cref="StartupFailure"/>).
/// </summary>
public sealed class ConfigFileReloads
{
    public event Action<string, string>? Failed;

    internal void Report(string path, Exception error) => Failed?.Invoke(path, StartupFailure.JsonProblem(error));

    internal sealed class Source(ConfigFileReloads reloads) : JsonConfigurationSource
    {
        public override IConfigurationProvider Build(IConfigurationBuilder builder)
        {
            EnsureDefaults(builder);
            return new Provider(this, reloads);
        }
    }

    private sealed class Provider(JsonConfigurationSource source, ConfigFileReloads reloads) : JsonConfigurationProvider(source)
    {
        private bool _loaded;

        public override void Load(Stream stream)
        {
            try
            {
                base.Load(stream);
                _loaded = true;
            }
            catch (Exception e) when (_loaded && e is FormatException or InvalidDataException)
            {
                // The values read before stay in force.
                reloads.Report(Source.FileProvider?.GetFileInfo(Source.Path ?? "").PhysicalPath ?? Source.Path ?? "configuration file", e);
            }
        }

        protected override void Dispose(bool disposing)
        {
            base.Dispose(disposing);
            // The source made this file provider for itself (ResolveFileProvider) and nothing else
            // frees it: its watcher holds an inotify instance, and a process that builds many hosts
            // (the tests) ran out of them.
            if (disposing) (Source.FileProvider as IDisposable)?.Dispose();
        }
    }
}

/// <summary>Logs each configuration file edit that could not be read (the file, the line and what is wrong; never its values).</summary>
public sealed partial class ConfigFileReloadLogger(ConfigFileReloads reloads, ILogger<ConfigFileReloadLogger> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        reloads.Failed += OnFailed;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        reloads.Failed -= OnFailed;
        return Task.CompletedTask;
    }

    private void OnFailed(string path, string problem) => LogReloadFailed(logger, path, problem);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Error, Message = "Configuration file {Path} was edited but cannot be read ({Problem}); the rules and settings in force stay until it is fixed")]
    private static partial void LogReloadFailed(ILogger logger, string path, string problem);
}
