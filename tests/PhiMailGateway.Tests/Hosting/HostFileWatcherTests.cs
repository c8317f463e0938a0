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

        var growth = await GrowthOverTwoWindows(async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                await using var gateway = await TestGateway.StartAsync();
            }
        });

        Assert.That(growth, Has.Some.EqualTo(0), "three gateways started and stopped leave no watcher open");
    }

    /// <summary>
    /// How many inotify instances each of two runs of <paramref name="threeHosts"/> left open. A
    /// host that keeps its watcher leaves 3 in every run; a watcher that something else in the
    /// process (a fixture's leftovers) opens meanwhile shows in one run only (CI once saw 1 before
    /// and 2 after), so one clean run is the proof.
    /// </summary>
    private static async Task<List<int>> GrowthOverTwoWindows(Func<Task> threeHosts)
    {
        var growth = new List<int>();
        for (var window = 0; window < 2; window++)
        {
            var before = OpenInotifyInstances();
            await threeHosts();
            growth.Add(OpenInotifyInstances() - before);
            if (growth[^1] == 0) break;
        }
        return growth;
    }

    [Test]
    public void BuiltButNeverStartedHosts_GiveBackTheirFileWatchers()
    {
        if (!Directory.Exists("/proc/self/fd")) Assert.Ignore("needs Linux /proc");
        var data = Path.Combine(Path.GetTempPath(), "phimail-watch-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new Dictionary<string, string?> { ["Gateway:DataDirectory"] = data };
            using (GatewayHost.Build([], settings)) { }

            var growth = GrowthOverTwoWindows(() =>
            {
                for (var i = 0; i < 3; i++)
                {
                    using var host = GatewayHost.Build([], settings);
                }
                return Task.CompletedTask;
            }).GetAwaiter().GetResult();

            Assert.That(growth, Has.Some.EqualTo(0), "three hosts built and disposed leave no watcher open");
        }
        finally
        {
            if (Directory.Exists(data)) Directory.Delete(data, recursive: true);
        }
    }
}
