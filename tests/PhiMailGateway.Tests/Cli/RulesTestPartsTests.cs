using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

/// <summary>Issue 22 item 10: `rules test` said "None" for text parts, which read as "nothing there".</summary>
public class RulesTestPartsTests
{
    [Test]
    public async Task RulesTest_TextParts_SayNotAnImageWithTheirDeclaredType()
    {
        using var dir = new TempDirectory();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var sample = Path.Combine(AppContext.BaseDirectory, "samples", "signature-logo.eml");

        var code = await GatewayCommandLine.RunAsync(["rules", "test", "--eml", sample, $"--Gateway:DataDirectory={dir.Path}"], TextReader.Null, stdout, stderr);
        SqliteConnection.ClearAllPools();

        var output = stdout.ToString();
        Assert.That(code, Is.Zero, stderr.ToString());
        Assert.That(output, Does.Not.Contain(": None,"), output);
        Assert.That(output, Does.Match(@"\[1\] part 1: not an image, Text \(text/plain\), \d+ bytes; not protected"), output);
        Assert.That(output, Does.Contain(": Decoration, PNG,"), "image kinds are named as before");
    }
}
