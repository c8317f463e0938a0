using System.Net;
using System.Net.Sockets;
using System.Text;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

public class IngressSessionLimitTests
{
    [Test]
    public async Task Ingress_MaxSessionsReached_NextClientWaitsForAFreeSlot()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxSessions"] = "1" });
        var first = await SmtpTestClient.ConnectAsync(gw.Port);
        Assert.That(first.Greeting.Code, Is.EqualTo(220));

        using var second = new TcpClient();
        await second.ConnectAsync(IPAddress.Loopback, gw.Port); // the kernel's accept queue takes it
        var stream = second.GetStream();
        var buffer = new byte[512];
        using (var wait = new CancellationTokenSource(TimeSpan.FromMilliseconds(500)))
        {
            Assert.That(async () => await stream.ReadAsync(buffer, wait.Token), Throws.InstanceOf<OperationCanceledException>(),
                "no greeting while the only slot is taken");
        }

        await first.CommandAsync("QUIT");
        await first.DisposeAsync();
        using var greeting = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var read = await stream.ReadAsync(buffer, greeting.Token);
        Assert.That(Encoding.ASCII.GetString(buffer, 0, read), Does.StartWith("220 "), "served once the first session ended");
    }
}
