using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>Invariant 8 over real sockets: bounded lines, sessions per address, eviction and short timeouts for strangers.</summary>
// Wall-clock bounds and GC.GetTotalMemory, which other fixtures' work would distort.
[NonParallelizable]
public class IngressStrangerTests
{
    private static string Source(int i) => $"127.0.0.{i}";

    [Test]
    public async Task Ingress_300IdleStrangers_NewClientGreetedWithinASecondAndSends()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.1/32" });
        var strangers = new List<SmtpTestClient>();
        try
        {
            // 30 addresses x 10 (the default per-address cap) against the default 100 sessions.
            for (var i = 0; i < 300; i++) strangers.Add(await SmtpTestClient.ConnectAsync(gw.Port, from: Source(2 + i / 10)));
            Assert.That(strangers.Count(s => s.Greeting.Code == 220), Is.EqualTo(300), "every stranger was greeted too; the oldest idle ones made room");

            var clock = Stopwatch.StartNew();
            await using var office = await SmtpTestClient.ConnectAsync(gw.Port, from: "127.0.0.1");
            var greetedAfter = clock.Elapsed;
            await office.EhloAsync();
            SmtpTestClient.Expect(await office.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");
            SmtpTestClient.Expect(await office.CommandAsync("RCPT TO:<lab@lab.test>"), 250, "RCPT");
            var reply = await office.DataAsync(SmtpIngressTests.Message());

            TestContext.Out.WriteLine($"greeted after {greetedAfter.TotalMilliseconds:F1} ms");
            Assert.That(office.Greeting.Code, Is.EqualTo(220));
            Assert.That(greetedAfter, Is.LessThan(TimeSpan.FromSeconds(1)), "greeted within a second while 300 strangers hold connections");
            Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
            Assert.That(gw.Ingress.AdmittedSessions, Is.LessThanOrEqualTo(100), "admitted sessions stay bounded by Smtp:MaxSessions");
            // Evicted sessions leave the registry at once; their tasks end when the 421 is written and
            // the socket closed, which a loaded machine may take a moment to get to.
            await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(gw.Ingress.ActiveSessions <= 101),
                "the evicted sessions have ended, leaving at most Smtp:MaxSessions plus the office");
        }
        finally
        {
            foreach (var s in strangers) await s.DisposeAsync();
        }
    }

    [Test]
    public async Task Ingress_50StrangersSend9MegabytesWithoutLineEnd_Each500AndMemoryReturns()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        var junk = new byte[64 * 1024];
        Array.Fill(junk, (byte)'a');
        const int total = 9_500_000;

        async Task<SmtpReply> FloodAsync(int i)
        {
            await using var client = await SmtpTestClient.ConnectAsync(gw.Port, from: Source(2 + i / 10));
            for (var sent = 0; sent < total; sent += junk.Length)
                await client.SendRawAsync(junk.AsMemory(0, Math.Min(junk.Length, total - sent)));
            return await client.CommandAsync("");
        }

        await FloodAsync(0); // warm-up: pools and JIT, so the comparison sees only what sessions keep
        await gw.WaitForIdleAsync();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var replies = await Task.WhenAll(Enumerable.Range(0, 50).Select(FloodAsync));
        await gw.WaitForIdleAsync();
        var after = GC.GetTotalMemory(forceFullCollection: true);

        TestContext.Out.WriteLine($"managed heap before {before / 1048576.0:F1} MiB, after {after / 1048576.0:F1} MiB");
        Assert.That(replies.Select(r => r.ToString()).Distinct(), Is.EqualTo(new[] { "500 5.5.2 line too long" }), "each one told, none left hanging");
        Assert.That(after - before, Is.LessThan(4L * 1024 * 1024), "nothing held per closed session");
    }

    [Test]
    public async Task Ingress_MoreStrangersFromOneAddressThanTheCap_421ForTheExtraOthersServed()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxSessionsPerAddress"] = "3" });
        var held = new List<SmtpTestClient>();
        try
        {
            for (var i = 0; i < 3; i++) held.Add(await SmtpTestClient.ConnectAsync(gw.Port, from: Source(2)));
            await using var extra = await SmtpTestClient.ConnectAsync(gw.Port, from: Source(2));
            var afterExtra = await extra.ReadReplyAsync();
            await using var other = await SmtpTestClient.ConnectAsync(gw.Port, from: Source(3));

            Assert.That(held.Select(h => h.Greeting.Code), Is.All.EqualTo(220));
            Assert.That(extra.Greeting.ToString(), Is.EqualTo("421 4.7.0 too many connections from your address"));
            Assert.That(afterExtra, Is.EqualTo(SmtpReply.Closed), "and the connection is closed");
            Assert.That(other.Greeting.Code, Is.EqualTo(220), "another address is not affected");
            Assert.That((await held[0].CommandAsync("NOOP")).Code, Is.EqualTo(250), "the sessions within the cap go on");
        }
        finally
        {
            foreach (var h in held) await h.DisposeAsync();
        }
    }

    [Test]
    public async Task Ingress_StrangerIdle_421AfterUnauthenticatedTimeoutWhileTrustedSessionStays()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:TrustedNetworks:0"] = "127.0.0.1/32",
            ["Smtp:UnauthenticatedTimeout"] = "00:00:01",
            ["Smtp:SessionTimeout"] = "00:00:30",
        });
        await using var trusted = await SmtpTestClient.ConnectAsync(gw.Port, from: "127.0.0.1");
        await using var stranger = await SmtpTestClient.ConnectAsync(gw.Port, from: Source(2));
        var clock = Stopwatch.StartNew();

        var dropped = await stranger.ReadReplyAsync();
        var waited = clock.Elapsed;
        var closed = await stranger.ReadReplyAsync();
        var noop = await trusted.CommandAsync("NOOP");

        Assert.That(dropped.ToString(), Is.EqualTo("421 4.4.2 idle too long, closing connection"));
        Assert.That(waited, Is.LessThan(TimeSpan.FromSeconds(5)), $"dropped after about Smtp:UnauthenticatedTimeout, not Smtp:SessionTimeout ({waited})");
        Assert.That(closed, Is.EqualTo(SmtpReply.Closed));
        Assert.That(noop.Code, Is.EqualTo(250), "a trusted session idle as long keeps Smtp:SessionTimeout");
    }

    [Test]
    public async Task Ingress_ImplicitTlsHandshakeNeverStarted_ClosedAfterHandshakeTimeout()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:ImplicitTlsPort"] = TestGateway.FreePort,
            ["Smtp:HandshakeTimeout"] = "00:00:01",
        });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gw.ImplicitTlsPort!.Value);
        var clock = Stopwatch.StartNew();

        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var read = await tcp.GetStream().ReadAsync(new byte[16], guard.Token);

        Assert.That(read, Is.Zero, "the server closed the connection");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), $"after Smtp:HandshakeTimeout ({clock.Elapsed})");
    }

    [Test]
    public async Task Ingress_StartTlsThenSilence_ClosedAfterHandshakeTimeout()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:HandshakeTimeout"] = "00:00:01" });
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gw.Port);
        var stream = tcp.GetStream();
        var buffer = new byte[4096];
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        await ReadUntilAsync(stream, buffer, "220 ", guard.Token);
        await stream.WriteAsync("EHLO client.test\r\nSTARTTLS\r\n"u8.ToArray(), guard.Token);
        await ReadUntilAsync(stream, buffer, "220 2.0.0", guard.Token);
        var clock = Stopwatch.StartNew();

        var read = await stream.ReadAsync(buffer, guard.Token);

        Assert.That(read, Is.Zero, "no handshake: closed");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), $"after Smtp:HandshakeTimeout ({clock.Elapsed})");
    }

    private static async Task ReadUntilAsync(NetworkStream stream, byte[] buffer, string marker, CancellationToken token)
    {
        var seen = new StringBuilder();
        while (!seen.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var n = await stream.ReadAsync(buffer, token);
            if (n == 0) throw new IOException("closed before " + marker);
            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }
    }

    [Test]
    public async Task Command_512And513ByteLines_512Gets250And513Gets500LineTooLongAndTheSessionGoesOn()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var at = await client.CommandAsync("NOOP " + new string('a', 512 - 7)); // 512 with CRLF
        var over = await client.CommandAsync("NOOP " + new string('a', 513 - 7));
        var after = await client.CommandAsync("NOOP");

        Assert.That(at.Code, Is.EqualTo(250), at.ToString());
        Assert.That(over.ToString(), Is.EqualTo("500 5.5.2 line too long"));
        Assert.That(after.Code, Is.EqualTo(250), "the session goes on");
    }

    [Test]
    public async Task Auth_ContinuationLineOver12288Bytes_500LineTooLong()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();

        SmtpTestClient.Expect(await client.CommandAsync("AUTH PLAIN"), 334, "AUTH PLAIN");
        var over = await client.CommandAsync(new string('A', 12_288 - 1)); // 12,289 with CRLF
        SmtpTestClient.Expect(await client.CommandAsync("AUTH PLAIN"), 334, "AUTH PLAIN again");
        var at = await client.CommandAsync(new string('A', 12_288 - 2));
        var initial = await client.CommandAsync("AUTH PLAIN " + new string('A', 4000));

        Assert.That(over.ToString(), Is.EqualTo("500 5.5.2 line too long"));
        Assert.That(at.ToString(), Does.Not.Contain("line too long"), $"12,288 bytes are allowed: {at}");
        Assert.That(initial.ToString(), Does.Not.Contain("line too long"), $"an initial response may be longer than 512: {initial}");
    }

    [Test]
    public async Task Command_TenBadCommands_421AndClosed()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);

        var replies = new List<SmtpReply>();
        for (var i = 0; i < 9; i++) replies.Add(await client.CommandAsync("XYZZY"));
        var last = await client.CommandAsync("XYZZY");
        var final = await client.ReadReplyAsync();
        var closed = await client.ReadReplyAsync();

        Assert.That(replies.Select(r => r.Code), Is.All.EqualTo(500));
        Assert.That(last.Code, Is.EqualTo(500));
        Assert.That(final.ToString(), Is.EqualTo("421 4.7.0 too many errors, closing connection"));
        Assert.That(closed, Is.EqualTo(SmtpReply.Closed));
    }
}
