using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>Invariant 1, tested the hard way: the real executable, killed with SIGKILL after its 250.</summary>
public class CrashRecoveryTests
{
    /// <summary>Runs the gateway executable built beside the tests as a child process.</summary>
    internal sealed class GatewayProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();

        public GatewayProcess(params string[] args)
        {
            var dll = Path.Combine(AppContext.BaseDirectory, "PhiMailGateway.dll");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            info.ArgumentList.Add(dll);
            foreach (var arg in args) info.ArgumentList.Add(arg);
            info.Environment["Logging__LogLevel__Default"] = "Information";
            _process = Process.Start(info)!;
            _process.OutputDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { lock (_output) _output.AppendLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
        }

        public string Output { get { lock (_output) return _output.ToString(); } }

        public async Task WaitForPortAsync(int port)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (_process.HasExited) Assert.Fail($"gateway exited with {_process.ExitCode}:\n{Output}");
                try
                {
                    using var probe = new TcpClient();
                    await probe.ConnectAsync(IPAddress.Loopback, port);
                    return;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }

        /// <summary>SIGKILL: no shutdown code runs, exactly like a power cut for the process.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            if (!_process.HasExited) Kill();
            _process.Dispose();
        }
    }

    [Test]
    public async Task Gateway_KilledAfter250_DeliversTheMessageAfterRestart()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        // First life: the smarthost accepts TCP but never answers, so the message is still in
        // flight when the process dies.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start();
        var held = new List<TcpClient>();
        var accepted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(async () =>
        {
            while (true)
            {
                try { held.Add(await blackHole.AcceptTcpClientAsync()); accepted.TrySetResult(); }
                catch (ObjectDisposedException) { return; }
                catch (SocketException) { return; }
            }
        });

        var smtpPort = TestGateway.GetFreePort();
        var pickupPort = TestGateway.GetFreePort();
        string[] Args(int relayPort) =>
        [
            $"--Gateway:DataDirectory={data.Path}", "--Gateway:HostName=gateway.test",
            $"--Smtp:Port={smtpPort}", "--Smtp:TrustedNetworks:0=127.0.0.0/8", $"--Pickup:Port={pickupPort}",
            "--Relay:Mode=Smtp", "--Relay:Host=127.0.0.1", $"--Relay:Port={relayPort}",
            $"--Relay:CertificateThumbprint={upstream.CertificateThumbprintSha256}",
            "--Relay:RetrySchedule=00:00:00.500", "--Relay:Timeout=00:00:30",
        ];

        string queueId;
        using (var first = new GatewayProcess(Args(((IPEndPoint)blackHole.LocalEndpoint).Port)))
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
            await accepted.Task.WaitAsync(TimeSpan.FromSeconds(20));
            first.Kill();
        }
        blackHole.Stop();
        foreach (var c in held) c.Dispose();
        Assert.That(upstream.Messages, Is.Empty, "nothing was delivered before the crash");

        using var second = new GatewayProcess(Args(upstream.Port));
        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(30))).Single();
        Assert.That(Encoding.UTF8.GetString(relayed.Data), Does.Contain($"id {queueId};"), "the message accepted before the crash");
        Assert.That(relayed.Data.AsSpan(relayed.Data.Length - RelayEndToEndTests.TrickyMessage.Length).ToArray(), Is.EqualTo(RelayEndToEndTests.TrickyMessage));
        await Task.Delay(1000);
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "delivered once");
    }
}
