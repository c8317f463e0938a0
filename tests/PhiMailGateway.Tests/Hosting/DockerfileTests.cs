using System.Text.RegularExpressions;

namespace PhiMailGateway.Tests.Hosting;

/// <summary>Issue 22 item 11: the Dockerfile a practice copies must run as written, be reproducible and report its health.</summary>
public class DockerfileTests
{
    private static string Dockerfile()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "PhiMailGateway.sln"))) dir = dir.Parent;
        Assert.That(dir, Is.Not.Null, "repository root");
        return File.ReadAllText(Path.Combine(dir!.FullName, "Dockerfile"));
    }

    [Test]
    public void Dockerfile_BaseImages_PinnedToAnExactVersion()
    {
        var froms = Regex.Matches(Dockerfile(), @"^FROM\s+(\S+)", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

        Assert.That(froms, Has.Count.EqualTo(2));
        Assert.That(froms, Has.All.Match(@"(:\d+\.\d+\.\d+$)|(@sha256:[0-9a-f]{64}$)"), "a floating tag (10.0) changes under a rebuild");
    }

    [Test]
    public void Dockerfile_Healthcheck_UsesTheHealthVerb()
    {
        var text = Dockerfile();

        Assert.That(text, Does.Match(@"(?m)^HEALTHCHECK .*\\\s*\n\s*CMD \[""dotnet"", ""PhiMailGateway.dll"", ""health""\]"), "curl and wget are not in the runtime image");
    }

    [Test]
    public void Dockerfile_ExampleRun_SetsPickupBaseUrl()
    {
        var example = string.Join("\n", Dockerfile().Split('\n').TakeWhile(l => l.StartsWith('#')));

        Assert.That(example, Does.Contain("docker run").And.Contain("Relay__Mode=Smtp").And.Contain("Pickup__BaseUrl=https://"),
            "relaying without Pickup:BaseUrl exits 2 at start-up");
    }
}
