using System.Net;
using System.Net.Sockets;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>Invariant 2 across a crash: the real executable, killed with SIGKILL after the audit commit and before the relay.</summary>
public class AuditCrashTests
{
    [Test]
    public async Task Gateway_KilledBetweenAuditCommitAndRelay_RelaysOnceWithOneRecordPerRecipient()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        // First life: the smarthost accepts TCP and never answers, so the copy is in flight when the process dies.
        using var blackHole = new BlackHoleSmarthost();

        var smtpPort = TestGateway.GetFreePort();
        string[] Args(int relayPort) =>
        [
            $"--Gateway:DataDirectory={data.Path}", "--Gateway:HostName=gateway.test",
            $"--Smtp:Port={smtpPort}", "--Smtp:TrustedNetworks:0=127.0.0.0/8",
            "--Relay:Mode=Smtp", "--Relay:Host=127.0.0.1", $"--Relay:Port={relayPort}", "--Pickup:BaseUrl=https://pickup.practice.example",
            $"--Relay:CertificateThumbprint={upstream.CertificateThumbprintSha256}",
            "--Relay:RetrySchedule=00:00:00.500", "--Relay:Timeout=00:00:30",
            "--Rules:1:Name=images-relay", "--Rules:1:Action=Relay", "--Rules:1:Fallback=",
            // Only the copies at the smarthost: the sender's receipt for two new recipients stays off.
            "--Guard:Receipts=Off",
        ];
        string[] recipients = ["dr.lee@specialist.example", "lab@smilelab.example"];

        using (var first = new GatewayProcess(Args(blackHole.Port)))
        {
            await first.WaitForPortAsync(smtpPort);
            await using (var client = await SmtpTestClient.ConnectAsync(smtpPort))
            {
                SmtpTestClient.Expect(await client.EhloAsync(), 250, "EHLO");
                SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:<{RelayEndToEndTests.Sender}>"), 250, "MAIL");
                foreach (var r in recipients) SmtpTestClient.Expect(await client.CommandAsync($"RCPT TO:<{r}>"), 250, "RCPT");
                SmtpTestClient.Expect(await client.DataAsync(RelayEndToEndTests.DotStuff(AuditTestKit.DicomMessage())), 250, "DATA");
            }
            // The relay connects only after the copies and their records committed together.
            await blackHole.FirstConnection.WaitAsync(TimeSpan.FromSeconds(20));
            first.Kill();
        }
        blackHole.Dispose();
        Assert.That(upstream.Messages, Is.Empty, "nothing was delivered before the crash");
        Assert.That(await AuditTestKit.ScalarAsync<long>(data.Path, "SELECT COUNT(*) FROM disclosures"), Is.EqualTo(2), "records committed before the relay");

        using (new GatewayProcess(Args(upstream.Port)))
        {
            var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30))).Single();
            Assert.That(relayed.Recipients, Is.EquivalentTo(recipients));
            await AuditTestKit.WaitForEventsAsync(data.Path, "Relayed", 2);
            await RelayEndToEndTests.WaitUntilAsync(
                async () => await AuditTestKit.ScalarAsync<long>(data.Path, "SELECT COUNT(*) FROM deliveries WHERE state <> 'Done'") == 0,
                "every delivery is done, so nothing more can be relayed");
        }

        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "relayed once");
        foreach (var r in recipients)
            Assert.That(await AuditTestKit.ScalarAsync<long>(data.Path, "SELECT COUNT(*) FROM disclosures WHERE recipient = @r", new { r }), Is.EqualTo(1), r);
        var entries = await AuditTestKit.ExportJsonAsync(data.Path, "--patient", DentalCorpus.PatientId);
        Assert.That(entries.Select(e => e.GetProperty("outcome").GetString()), Is.EqualTo(new[] { "relayed", "relayed" }));
        var (code, output, error) = await AuditTestKit.CliAsync(data.Path, "audit", "verify");
        Assert.That(code, Is.Zero, output + error);
    }
}
