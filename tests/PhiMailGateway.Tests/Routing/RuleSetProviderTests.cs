using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using PhiMailGateway.Routing;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Routing;

public class RuleSetProviderTests
{
    // RuleSetProvider's "Changed routing rules refused" event.
    private const int RefusedEventId = 5201;

    [Test]
    public void RuleSetProvider_InvalidRulesAtStartUp_Throws()
    {
        var configuration = RuleSetParserTests.Json("""{ "Rules": [ { "Name": "x", "Action": "Nope" } ] }""");
        Assert.That(() => new RuleSetProvider(configuration, RuleSetParserTests.Kinds, NullLogger<RuleSetProvider>.Instance),
            Throws.TypeOf<OptionsValidationException>().With.Message.Contains("Rules:0 (x): Action 'Nope'"));
    }

    [Test]
    public async Task RuleSetProvider_FileChanges_ValidVersionTakesEffectAndInvalidIsRefusedKeepingTheRulesInForce()
    {
        using var dir = new TempDirectory();
        var file = Path.Combine(dir.Path, "appsettings.json");
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "first", "Action": "Relay" } ] }""");
        var configuration = new ConfigurationBuilder().AddJsonFile(file, optional: false, reloadOnChange: true).Build();
        var logs = new RecordingLoggerProvider();
        using var loggers = new LoggerFactory([logs]);
        using var provider = new RuleSetProvider(configuration, RuleSetParserTests.Kinds, loggers.CreateLogger<RuleSetProvider>());
        Assert.That(provider.Current.Rules.Single().Name, Is.EqualTo("first"));

        var reloaded = new TaskCompletionSource<RuleSet>(TaskCreationOptions.RunContinuationsAsynchronously);
        provider.Reloaded += r => reloaded.TrySetResult(r);
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "second", "Action": "Pickup" } ] }""");
        var next = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.That(next.Rules.Single().Name, Is.EqualTo("second"));
        Assert.That(provider.Current, Is.SameAs(next));

        // An invalid version is refused: the rules in force stay.
        await File.WriteAllTextAsync(file, """{ "Rules": [ { "Name": "third", "Action": "Explode" } ] }""");
        // The refusal is logged once the changed file was read: only then does "the rules stay" mean anything.
        await PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.WaitUntilAsync(
            () => Task.FromResult(logs.WithId(RefusedEventId).Any(e => e.Message.Contains("Explode", StringComparison.Ordinal))), "the invalid version is refused");
        Assert.That(provider.Current.Rules.Single().Name, Is.EqualTo("second"));
    }
}
