using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PhiMailGateway.Routing;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Routing;

public class RuleSetProviderTests
{
    [Test]
    public void RuleSetProvider_InvalidRulesAtStartUp_Throws()
    {
        var configuration = RuleSetParserTests.Json("""{ "Rules": [ { "Name": "x", "Action": "Nope" } ] }""");
        Assert.That(() => new RuleSetProvider(configuration, RuleSetParserTests.Kinds, NullLogger<RuleSetProvider>.Instance),
            Throws.TypeOf<OptionsValidationException>().With.Message.Contains("Rules:0 (x): Action 'Nope'"));
    }

    [Test]
    public async Task RuleSetProvider_FileChanges_ValidVersionTakesEffectAndInvalidIsRefused()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "appsettings.json");
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "first", "Action": "Relay" } ] }""");
        var configuration = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: true).Build();
        using var provider = new RuleSetProvider(configuration, RuleSetParserTests.Kinds, NullLogger<RuleSetProvider>.Instance);
        Assert.That(provider.Current.Rules.Single().Name, Is.EqualTo("first"));

        var reloaded = new TaskCompletionSource<RuleSet>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.Reloaded += r => reloaded.TrySetResult(r);
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "second", "Action": "Pickup" } ] }""");
        var next = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(next.Rules.Single().Name, Is.EqualTo("second"));
        Assert.That(provider.Current, Is.SameAs(next));

        // An invalid version is refused: the rules in force stay.
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "third", "Action": "Explode" } ] }""");
        await Task.Delay(1500);
        Assert.That(provider.Current.Rules.Single().Name, Is.EqualTo("second"));
    }
}
