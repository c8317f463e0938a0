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
}
