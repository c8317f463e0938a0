using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

public class IngressSessionLimitTests
{
    [Test]
    public async Task Ingress_MaxSessionsReachedByStrangers_NewClientIsGreetedAndTheIdlestIsEvicted()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxSessions"] = "1" });
        await using var first = await SmtpTestClient.ConnectAsync(gw.Port);
        Assert.That(first.Greeting.Code, Is.EqualTo(220));

        await using var second = await SmtpTestClient.ConnectAsync(gw.Port);
        var evicted = await first.ReadReplyAsync();

        Assert.That(second.Greeting.Code, Is.EqualTo(220), "a new client is greeted even with every slot taken by a stranger (invariant 8)");
        Assert.That(evicted.Code, Is.EqualTo(421), $"the idle stranger made room and was told so: {evicted}");
        Assert.That((await second.CommandAsync("NOOP")).Code, Is.EqualTo(250), "the new session works");
    }
}
