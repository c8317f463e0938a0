using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>Invariant 1, tested the hard way: the real executable, killed with SIGKILL after its 250.</summary>
public class CrashRecoveryTests
{
    [Test]
    public async Task Gateway_KilledAfter250_DeliversTheMessageAfterRestart()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        // First life: the smarthost accepts TCP but never answers, so the message is still in
        // flight when the process dies.
        using var blackHole = new BlackHoleSmarthost();

        var smtpPort = TestGateway.GetFreePort();
        var pickupPort = TestGateway.GetFreePort();
        string[] Args(int relayPort) =>
        [
            $"--Gateway:DataDirectory={data.Path}", "--Gateway:HostName=gateway.test",
            $"--Smtp:Port={smtpPort}", "--Smtp:TrustedNetworks:0=127.0.0.0/8", $"--Pickup:Port={pickupPort}", $"--Pickup:BaseUrl=http://127.0.0.1:{pickupPort}",
            "--Relay:Mode=Smtp", "--Relay:Host=127.0.0.1", $"--Relay:Port={relayPort}",
            $"--Relay:CertificateThumbprint={upstream.CertificateThumbprintSha256}",
            "--Relay:RetrySchedule=00:00:00.500", "--Relay:Timeout=00:00:30",
        ];

        string queueId;
        using (var first = new GatewayProcess(Args(blackHole.Port)))
        {
            await first.WaitForPortAsync(smtpPort);
            await using (var client = await SmtpTestClient.ConnectAsync(smtpPort))
            {
                SmtpTestClient.Expect(await client.EhloAsync(), 250, "EHLO");
                SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:<{RelayEndToEndTests.Sender}>"), 250, "MAIL");
                SmtpTestClient.Expect(await client.CommandAsync("RCPT TO:<dr.lee@specialist.example>"), 250, "RCPT");
                var reply = await client.DataAsync(RelayEndToEndTests.DotStuff(RelayEndToEndTests.TrickyMessage));
                SmtpTestClient.Expect(reply, 250, "DATA");
                queueId = reply.Text[^20..];
            }
            await blackHole.FirstConnection.WaitAsync(TimeSpan.FromSeconds(20));
            first.Kill();
        }
        blackHole.Dispose();
        Assert.That(upstream.Messages, Is.Empty, "nothing was delivered before the crash");

        using var second = new GatewayProcess(Args(upstream.Port));
        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30))).Single();
        Assert.That(Encoding.UTF8.GetString(relayed.Data), Does.Contain($"id {queueId};"), "the message accepted before the crash");
        Assert.That(relayed.Data.AsSpan(relayed.Data.Length - RelayEndToEndTests.TrickyMessage.Length).ToArray(), Is.EqualTo(RelayEndToEndTests.TrickyMessage));
        // Once every delivery row is Done nothing is left that could be sent again: only then does one copy prove "once".
        await RelayEndToEndTests.WaitUntilAsync(
            async () => await PhiMailGateway.Tests.Audit.AuditTestKit.ScalarAsync<long>(data.Path, "SELECT COUNT(*) FROM deliveries WHERE state <> 'Done'") == 0,
            "every delivery is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "delivered once");
    }
    [Test]
    public async Task HeldCopy_GatewayKilled_SurvivesAndIsReleasedAfterRestart()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var smtpPort = TestGateway.GetFreePort();
        var pickupPort = TestGateway.GetFreePort();
        string[] args =
        [
            $"--Gateway:DataDirectory={data.Path}", "--Gateway:HostName=gateway.test",
            $"--Smtp:Port={smtpPort}", "--Smtp:TrustedNetworks:0=127.0.0.0/8", $"--Pickup:Port={pickupPort}", $"--Pickup:BaseUrl=http://127.0.0.1:{pickupPort}",
            "--Relay:Mode=Smtp", "--Relay:Host=127.0.0.1", $"--Relay:Port={upstream.Port}",
            $"--Relay:CertificateThumbprint={upstream.CertificateThumbprintSha256}",
            "--Relay:RetrySchedule=00:00:00.500", "--Relay:Timeout=00:00:30",
            "--Guard:KnownDomains:0=endo-specialists.example",
        ];
        const string typo = "dr.lee@endo-specialsts.example";
        var message = PickupWeb.PickupTestBed.Wire(PickupWeb.PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()));

        string queueId;
        using (var first = new GatewayProcess(args))
        {
            await first.WaitForPortAsync(smtpPort);
            await using (var client = await SmtpTestClient.ConnectAsync(smtpPort))
            {
                SmtpTestClient.Expect(await client.EhloAsync(), 250, "EHLO");
                SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:<{RelayEndToEndTests.Sender}>"), 250, "MAIL");
                SmtpTestClient.Expect(await client.CommandAsync($"RCPT TO:<{typo}>"), 250, "RCPT");
                var reply = await client.DataAsync(RelayEndToEndTests.DotStuff(message));
                SmtpTestClient.Expect(reply, 250, "DATA");
                queueId = reply.Text[^20..];
            }
            await RelayEndToEndTests.WaitUntilAsync(async () =>
                await Audit.AuditTestKit.ScalarAsync<long>(data.Path, "SELECT COUNT(*) FROM guard_holds WHERE queue_id = @queueId", new { queueId }) == 1,
                "the copy is held");
            first.Kill();
        }
        Assert.That(upstream.Messages.Any(m => m.Recipients.Contains(typo)), Is.False, "nothing left for the held address before the crash");

        using var second = new GatewayProcess(args);
        await second.WaitForPortAsync(smtpPort);
        var list = await Audit.AuditTestKit.CliAsync(data.Path, "guard", "list");
        Assert.That(list.Out, Does.StartWith($"{queueId}-H1  {queueId}  {typo}"), list.Out + list.Err);
        var release = await Audit.AuditTestKit.CliAsync(data.Path, "guard", "release", $"{queueId}-H1");
        Assert.That(release.Code, Is.Zero, release.Err);

        await RelayEndToEndTests.WaitUntilAsync(async () =>
            await Audit.AuditTestKit.ScalarAsync<string>(data.Path, "SELECT state FROM messages WHERE queue_id = @queueId", new { queueId }) == "Done",
            "the released copy is delivered and the message done", seconds: 30);
        Assert.That(upstream.Messages.Count(m => m.Recipients.Contains(typo)), Is.EqualTo(1), "delivered once, after the restart");
    }
}
