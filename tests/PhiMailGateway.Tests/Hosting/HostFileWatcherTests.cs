using PhiMailGateway.Hosting;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Hosting;

/// <summary>
/// `serve` watches its configuration file (the rules follow edits). Each watcher is an inotify
/// instance, of which a user has 128: a host that is stopped must give its watcher back, or a
/// process that builds many (the tests, a supervisor that restarts in-process) runs out.
/// </summary>
[NonParallelizable]
public class HostFileWatcherTests
{
    private static int OpenInotifyInstances() =>
        new DirectoryInfo("/proc/self/fd").GetFileSystemInfos().Count(fd =>
        {
            try { return fd.LinkTarget?.Contains("inotify", StringComparison.Ordinal) == true; }
            catch (IOException) { return false; } // closed while we looked
        });

    [Test]
    public async Task StartedAndStoppedGateways_GiveBackTheirFileWatchers()
    {
        if (!Directory.Exists("/proc/self/fd")) Assert.Ignore("needs Linux /proc");
        await using (await TestGateway.StartAsync()) { }
        var before = OpenInotifyInstances();

        for (var i = 0; i < 3; i++)
        {
            await using var gateway = await TestGateway.StartAsync();
        }

        Assert.That(OpenInotifyInstances(), Is.EqualTo(before));
    }

    [Test]
    public void BuiltButNeverStartedHosts_GiveBackTheirFileWatchers()
    {
        if (!Directory.Exists("/proc/self/fd")) Assert.Ignore("needs Linux /proc");
        var data = Path.Combine(Path.GetTempPath(), "phimail-watch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new Dictionary<string, string?> { ["Gateway:DataDirectory"] = data };
            var before = OpenInotifyInstances();

            for (var i = 0; i < 3; i++)
            {
                using var host = GatewayHost.Build([], settings);
            }

            Assert.That(OpenInotifyInstances(), Is.EqualTo(before));
        }
        finally
        {
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        }
    }
}
