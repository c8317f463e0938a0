using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>Issue 22 item 10: the EHLO answer is a plain greeting (the SmtpServer library's "haven't we met before?" on a second EHLO went with our own session; this keeps it gone).</summary>
public class EhloGreetingTests
{
    [Test]
    public async Task Ehlo_FirstAndSecondTime_PlainGreetingWithTheHostName()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);

        var first = await client.CommandAsync("EHLO frontdesk-pc");
        var second = await client.CommandAsync("EHLO frontdesk-pc");

        foreach (var reply in new[] { first, second })
        {
            Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
            Assert.That(reply.Lines[0], Is.EqualTo(TestGateway.HostName), reply.ToString());
            Assert.That(reply.Text, Does.Not.Contain("met before"));
        }
    }
}
