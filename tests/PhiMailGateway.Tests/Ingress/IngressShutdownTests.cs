using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

public class IngressShutdownTests
{
    [Test]
    public async Task Shutdown_SessionInFlight_StopsAcceptingButFinishesTheOpenTransaction()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");
        SmtpTestClient.Expect(await client.CommandAsync("RCPT TO:<lab@lab.test>"), 250, "RCPT");

        var stopping = gw.StopAsync();
        // New connections are refused once the listener stopped accepting (connect fails or is closed at once).
        var refused = false;
        for (var i = 0; i < 200 && !refused; i++)
        {
            try
            {
                await using var late = await SmtpTestClient.ConnectAsync(gw.Port);
                refused = late.Greeting.Code != 220;
            }
            catch (System.Net.Sockets.SocketException)
            {
                refused = true;
            }
            if (!refused) await Task.Delay(10);
        }
        var reply = await client.DataAsync(SmtpIngressTests.Message());
        await client.CommandAsync("QUIT");
        await stopping;

        Assert.That(refused, Is.True, "no new sessions during shutdown");
        Assert.That(reply.Code, Is.EqualTo(250), $"the session in flight finished its message: {reply}");
        Assert.That(gw.IncomingQueueIds(), Has.Count.EqualTo(1));
    }
}
