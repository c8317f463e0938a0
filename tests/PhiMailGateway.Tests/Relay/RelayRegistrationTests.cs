using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Hosting;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Tests.Relay;

public class RelayRegistrationTests
{
    private static async Task<IRelayTransport> ResolveAsync(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddGatewayOptions();
        builder.AddRelay();
        await using var provider = builder.Services.BuildServiceProvider();
        Assert.That(provider.GetRequiredService<RetryPolicy>(), Is.Not.Null);
        Assert.That(provider.GetRequiredService<DsnBuilder>(), Is.Not.Null);
        var transport = provider.GetRequiredService<IRelayTransport>();
        Assert.That(provider.GetRequiredService<IRelayTransport>(), Is.SameAs(transport), "singleton");
        return transport;
    }

    [Test]
    public async Task AddRelay_DefaultMode_ResolvesDirectoryRelay()
    {
        var transport = await ResolveAsync(new() { ["Gateway:HostName"] = "gateway.test" });

        Assert.That(transport, Is.InstanceOf<DirectoryRelay>());
    }

    [Test]
    public async Task AddRelay_SmtpMode_ResolvesSmarthostRelay()
    {
        var transport = await ResolveAsync(new()
        {
            ["Gateway:HostName"] = "gateway.test",
            ["Relay:Mode"] = "Smtp",
            ["Relay:Host"] = "smarthost.practice.example",
        });

        Assert.That(transport, Is.InstanceOf<SmarthostRelay>());
    }

    [Test]
    public void RelayLog_TemplatesAboveDebug_CarryNoAddressesRepliesOrSecrets()
    {
        var forbidden = new[] { "Recipient", "Sender", "Address", "Response", "Detail", "Subject", "Password", "User", "FileName" };
        var events = typeof(DirectoryRelay).Assembly.GetType("PhiMailGateway.Relay.RelayLog")!
            .GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .OfType<LoggerMessageAttribute>()
            .ToArray();

        Assert.That(events, Is.Not.Empty);
        Assert.That(events.Select(e => e.EventId), Is.All.InRange(4000, 4999));
        Assert.That(events.Select(e => e.EventId), Is.Unique);
        foreach (var e in events.Where(e => e.Level > LogLevel.Debug))
        {
            foreach (var name in forbidden)
                Assert.That(e.Message, Does.Not.Contain("{" + name + "}"), $"event {e.EventId} logs {name} above Debug");
        }
    }
}
