using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>The whole path over real sockets: Outlook-like client → gateway → real SMTP upstream.</summary>
public class RelayEndToEndTests
{
    internal const string Sender = "office@smiledental.example";

    /// <summary>
    /// A message with the things relays like to change: folding, a preamble, an 8-bit body, dot lines,
    /// a blank epilogue. (Text after the closing boundary is ambiguous MIME, which inspection fails
    /// closed on for the whole message, so the epilogue here is whitespace only.)
    /// </summary>
    internal static readonly byte[] TrickyMessage = Encoding.UTF8.GetBytes(
        "From: Front Desk <office@smiledental.example>\r\n" +
        "To: Dr. Lee <dr.lee@specialist.example>\r\n" +
        "Subject: Referral for\r\n\ttomorrow\r\n" +
        "Message-ID: <e2e-1@smiledental.example>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
        "\r\n" +
        "preamble text\r\n" +
        "--b1\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Grüße aus der Praxis\r\n" +
        ".leading dot\r\n" +
        ".\r\n" +
        "--b1--\r\n" +
        "\r\n \r\n");

    internal static Dictionary<string, string?> SmarthostSettings(FakeSmtpUpstream upstream, string retry = "00:00:00.200") => new()
    {
        ["Relay:Mode"] = "Smtp",
        ["Relay:Host"] = "127.0.0.1",
        ["Relay:Port"] = upstream.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Relay:Security"] = "StartTls",
        ["Relay:CertificateThumbprint"] = upstream.CertificateThumbprintSha256,
        ["Relay:RetrySchedule"] = retry,
        ["Relay:Timeout"] = "00:00:10",
    };

    internal static async Task<string> SubmitAsync(TestGateway gw, byte[] message, params string[] recipients)
    {
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.LoginAsync("frontdesk", "correct horse");
        SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:<{Sender}>"), 250, "MAIL");
        foreach (var r in recipients) SmtpTestClient.Expect(await client.CommandAsync($"RCPT TO:<{r}>"), 250, "RCPT");
        var reply = await client.DataAsync(DotStuff(message));
        SmtpTestClient.Expect(reply, 250, "DATA");
        Assert.That(reply.Text, Does.Match("^2.0.0 Ok: queued as [0-9A-F]{20}$"));
        await client.CommandAsync("QUIT");
        return reply.Text[^20..];
    }

    /// <summary>What a real client does before DATA: a line starting with '.' gets one more.</summary>
    internal static byte[] DotStuff(byte[] message) =>
        Encoding.UTF8.GetBytes(("\r\n" + Encoding.UTF8.GetString(message)).Replace("\r\n.", "\r\n..", StringComparison.Ordinal)[2..]);

    private static async Task<string?> MessageStateAsync(TestGateway gw, string queueId)
    {
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return await c.ExecuteScalarAsync<string?>("SELECT state FROM messages WHERE queue_id = @queueId", new { queueId });
    }

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting until {what}.");
            await Task.Delay(50);
        }
    }

    [Test]
    public async Task Gateway_AuthenticatedStartTlsSubmission_IsRelayedByteForBytePlusReceived()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { RequiredUser = "relayuser", RequiredPassword = "relay-secret" });
        var settings = SmarthostSettings(upstream);
        settings["Relay:Username"] = "relayuser";
        settings["Relay:Password"] = "relay-secret";
        await using var gw = await TestGateway.StartAsync(settings);
        await gw.AddUserAsync("frontdesk", "correct horse");

        var queueId = await SubmitAsync(gw, TrickyMessage, "dr.lee@specialist.example", "lab@smilelab.example");

        var relayed = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        Assert.That(relayed.Sender, Is.EqualTo(Sender));
        Assert.That(relayed.Recipients, Is.EquivalentTo(new[] { "dr.lee@specialist.example", "lab@smilelab.example" }));
        Assert.That(relayed.Secure, Is.True, "relayed over TLS");
        Assert.That(relayed.User, Is.EqualTo("relayuser"));

        var text = Encoding.UTF8.GetString(relayed.Data);
        var received = $"Received: from client.test ([127.0.0.1])\r\n\tby {TestGateway.HostName} (PhiMailGateway) with ESMTPSA id {queueId};\r\n\t";
        Assert.That(text, Does.StartWith(received));
        var headerEnd = text.IndexOf("\r\n", received.Length, StringComparison.Ordinal) + 2;
        Assert.That(relayed.Data.AsSpan(Encoding.UTF8.GetByteCount(text[..headerEnd])).ToArray(), Is.EqualTo(TrickyMessage),
            "apart from our Received header, the relayed bytes are the received ones");

        await WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        // The row says Done a moment before the file is removed.
        await WaitUntilAsync(() => Task.FromResult(gw.IncomingQueueIds().Count == 0), "the spool file goes once every copy is settled");
    }

    [Test]
    public async Task Gateway_UpstreamAnswers451_RetriesThenDeliversOnce()
    {
        var refused = 0;
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (_, attempt) =>
            {
                if (attempt > 2) return null;
                Interlocked.Increment(ref refused);
                return new FakeReply(451, "4.3.0 Try again later");
            },
        });
        await using var gw = await TestGateway.StartAsync(SmarthostSettings(upstream));
        await gw.AddUserAsync("frontdesk", "correct horse");

        var queueId = await SubmitAsync(gw, TrickyMessage, "dr.lee@specialist.example");

        await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        await WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "delivered exactly once");
        Assert.That(refused, Is.EqualTo(2), "two refused attempts before the delivery");
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        Assert.That(await c.ExecuteScalarAsync<long>("SELECT attempts FROM deliveries WHERE queue_id = @queueId", new { queueId }), Is.EqualTo(3));
    }

    [Test]
    public async Task Gateway_UpstreamAnswers550ForOneRecipient_OthersDeliveredAndSenderGetsDsn()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (rcpt, _) => rcpt == "nobody@specialist.example" ? new FakeReply(550, "5.1.1 No such user") : null,
        });
        await using var gw = await TestGateway.StartAsync(SmarthostSettings(upstream));
        await gw.AddUserAsync("frontdesk", "correct horse");

        var queueId = await SubmitAsync(gw, TrickyMessage, "dr.lee@specialist.example", "nobody@specialist.example");

        var messages = await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(20));
        var original = messages.Single(m => m.Sender == Sender);
        Assert.That(original.Recipients, Is.EqualTo(new[] { "dr.lee@specialist.example" }));

        var bounce = messages.Single(m => m.Sender == "");
        Assert.That(bounce.Recipients, Is.EqualTo(new[] { Sender }), "the DSN goes back to the sender, from the null sender");
        var dsn = MimeMessage.Load(new MemoryStream(bounce.Data));
        Assert.That(dsn.Body, Is.TypeOf<MultipartReport>());
        Assert.That(((MultipartReport)dsn.Body).ReportType, Is.EqualTo("delivery-status"));
        var bounceText = Encoding.UTF8.GetString(bounce.Data);
        Assert.That(bounceText, Does.Contain("Final-Recipient: rfc822; nobody@specialist.example"));
        Assert.That(bounceText, Does.Contain("Status: 5.1.1"));
        Assert.That(bounceText, Does.Contain("Message-ID: <e2e-1@smiledental.example>"), "the original headers are returned");
        Assert.That(bounceText, Does.Not.Contain("Grüße aus der Praxis"), "never the body: it may carry PHI");

        await WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
    }

    [Test]
    public async Task Gateway_RecipientDeferredPastMaxQueueLifetime_BouncesOnce()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (rcpt, _) => rcpt == "slow@specialist.example" ? new FakeReply(451, "4.2.0 Mailbox busy") : null,
        });
        var settings = SmarthostSettings(upstream);
        settings["Relay:MaxQueueLifetime"] = "00:00:01";
        await using var gw = await TestGateway.StartAsync(settings);
        await gw.AddUserAsync("frontdesk", "correct horse");

        var queueId = await SubmitAsync(gw, TrickyMessage, "slow@specialist.example");

        var bounce = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
        Assert.That(bounce.Sender, Is.EqualTo(""));
        var text = Encoding.UTF8.GetString(bounce.Data);
        Assert.That(text, Does.Contain("Final-Recipient: rfc822; slow@specialist.example"));
        Assert.That(text, Does.Contain("Status: 4.2.0").Or.Contain("Status: 4.4.7"));
        await WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "one DSN, never a bounce of the bounce");
    }

    [Test]
    public async Task Gateway_UnreadableSpoolFileAtStart_MovesToCorruptAndMailKeepsFlowing()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        using var data = new TempDirectory();
        Directory.CreateDirectory(Path.Combine(data.Path, "spool", "incoming"));
        await File.WriteAllTextAsync(Path.Combine(data.Path, "spool", "incoming", "0000000000000BADF00D.msg"), "garbage, not a spool file");

        await using var gw = await TestGateway.StartAsync(SmarthostSettings(upstream), dataDirectory: data.Path);
        await gw.AddUserAsync("frontdesk", "correct horse");
        await SubmitAsync(gw, TrickyMessage, "dr.lee@specialist.example");

        await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        Assert.That(File.Exists(Path.Combine(gw.Spool.Corrupt, "0000000000000BADF00D.msg")), Is.True);
    }
}
