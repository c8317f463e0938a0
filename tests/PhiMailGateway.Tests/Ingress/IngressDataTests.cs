using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>DATA over real SMTP: the size limit to the byte, bare CR and bare LF, header and recipient limits.</summary>
public class IngressDataTests
{
    private static Dictionary<string, string?> Trusted(params (string Key, string Value)[] more)
    {
        var settings = new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" };
        foreach (var (key, value) in more) settings[key] = value;
        return settings;
    }

    /// <summary>A message of exactly <paramref name="size"/> bytes as the gateway counts them: CRLF lines, the last CRLF included, no line starting with a dot.</summary>
    internal static byte[] MessageOfSize(int size)
    {
        var text = new StringBuilder("Subject: size\r\n\r\n");
        while (size - text.Length > 80) text.Append('x', 76).Append("\r\n");
        text.Append('y', size - text.Length - 2).Append("\r\n");
        return Encoding.ASCII.GetBytes(text.ToString());
    }

    private static async Task<SmtpReply> SendOnceAsync(TestGateway gw, byte[] message)
    {
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        SmtpTestClient.Expect(await client.EhloAsync(), 250, "EHLO");
        SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");
        SmtpTestClient.Expect(await client.CommandAsync("RCPT TO:<lab@lab.test>"), 250, "RCPT");
        var reply = await client.DataAsync(message);
        var noop = await client.CommandAsync("NOOP");
        Assert.That(noop.Code, Is.EqualTo(250), $"the session goes on after the reply to DATA: {noop}");
        return reply;
    }

    [Test]
    public async Task Data_SizeAroundTheLimitByteByByte_250UpToTheLimitAnd552AboveAtOnce()
    {
        const int limit = 100_000;
        var logs = new RecordingLoggerProvider();
        await using var gw = await TestGateway.StartIngressOnlyAsync(
            Trusted(("Smtp:MaxMessageBytes", "100000"), ("Logging:LogLevel:PhiMailGateway", "Information")),
            services => services.AddSingleton<ILoggerProvider>(logs));

        foreach (var size in new[] { limit - 2, limit - 1, limit, limit + 1, limit + 2 })
        {
            var reply = await SendOnceAsync(gw, MessageOfSize(size));
            if (size <= limit)
            {
                Assert.That(reply.Code, Is.EqualTo(250), $"{size} bytes: {reply}");
                Assert.That(gw.ReadQueuedMessage(reply.Text[^20..]).Length, Is.GreaterThan(size), "stored with our Received header");
            }
            else
            {
                Assert.That(reply.Code, Is.EqualTo(552), $"{size} bytes: {reply}");
                Assert.That(reply.Text, Does.StartWith("5.3.4 "));
            }
        }

        Assert.That(gw.IncomingQueueIds(), Has.Count.EqualTo(3), "exactly the three within the limit were queued");
        var tooLarge = logs.Events.Where(e => e.EventId == 1012).ToList();
        Assert.That(tooLarge, Has.Count.EqualTo(2), "one too-large event per refused message");
        Assert.That(tooLarge.All(e => e.Level == LogLevel.Information), Is.True);
        Assert.That(logs.Events.Where(e => e.Category.StartsWith("PhiMailGateway.Ingress", StringComparison.Ordinal) && e.Level >= LogLevel.Warning), Is.Empty,
            "nothing logged as a warning or error for a message that is simply too large");
    }

    [Test]
    public async Task Data_TenMebibyteLimit_AtTheLimit250AndOneMore552()
    {
        const int limit = 10_485_760;
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted(("Smtp:MaxMessageBytes", "10485760"), ("Smtp:SessionTimeout", "00:01:00")));

        var at = await SendOnceAsync(gw, MessageOfSize(limit));
        var over = await SendOnceAsync(gw, MessageOfSize(limit + 1));

        Assert.That(at.Code, Is.EqualTo(250), at.ToString());
        Assert.That(over.Code, Is.EqualTo(552), over.ToString());
        Assert.That(gw.IncomingQueueIds(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Mail_SizeDeclaredOverTheLimit_552AtMail()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted(("Smtp:MaxMessageBytes", "100000")));
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var over = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test> SIZE=100001");
        var at = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test> SIZE=100000");

        Assert.That(over.Code, Is.EqualTo(552), over.ToString());
        Assert.That(over.Text, Does.StartWith("5.3.4 "));
        Assert.That(at.Code, Is.EqualTo(250), at.ToString());
    }

    [Test]
    public async Task Data_BareCrBeforeADot_Refused550AndNothingSpooled()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted());

        var reply = await SendOnceAsync(gw, Encoding.ASCII.GetBytes(
            "Subject: smuggle\r\n\r\nfirst\r.\r\nMAIL FROM:<attacker@evil.test>\r\nRCPT TO:<victim@lab.test>\r\nDATA\r\nsmuggled\r\n"));

        Assert.That(reply.Code, Is.EqualTo(550), reply.ToString());
        Assert.That(reply.Text, Is.EqualTo("5.6.11 bare CR not allowed"));
        Assert.That(gw.IncomingQueueIds(), Is.Empty);
        Assert.That(await gw.QueueRowCountAsync(), Is.Zero);
    }

    [Test]
    public async Task Relay_BareLfDotBareLf_ReachesTheSmarthostAsOneMessageWithTheDotLineStuffed()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var gw = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(upstream));
        await gw.AddUserAsync("frontdesk", "correct horse");
        var smuggled = Encoding.ASCII.GetBytes(
            "From: <frontdesk@practice.test>\r\nTo: <lab@lab.test>\r\nSubject: Test\r\n\r\n" +
            "first part\n.\nMAIL FROM:<attacker@evil.test>\r\nRCPT TO:<victim@lab.test>\r\nDATA\r\nsmuggled\r\n");

        await RelayEndToEndTests.SubmitAsync(gw, smuggled, "lab@lab.test");

        var relayed = await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        var text = Encoding.ASCII.GetString(relayed.Single().Data);
        // The upstream un-stuffs what it receives: a "." line that reached it as data was sent as "..";
        // sent bare it would have ended the message there and run the rest as commands.
        Assert.That(text, Does.Contain("first part\r\n.\r\nMAIL FROM:<attacker@evil.test>\r\nRCPT TO:<victim@lab.test>\r\nDATA\r\nsmuggled"));
        Assert.That(relayed.Single().Recipients, Is.EqualTo(new[] { "lab@lab.test" }), "no smuggled recipient");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "no second message upstream");
        Assert.That(upstream.Rejected, Is.Empty, "no smuggled command upstream");
    }

    [Test]
    public async Task Data_HeaderLimits_552AfterTheDotAndNothingSpooled()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted(("Smtp:MaxHeaderLineBytes", "1000"), ("Smtp:MaxHeaderFields", "50")));
        var longLine = Encoding.ASCII.GetBytes($"Subject: {new string('s', 1000)}\r\n\r\nbody\r\n");
        var manyFields = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 51).Select(i => $"X-Field-{i}: v\r\n")) + "\r\nbody\r\n");
        var realistic = Encoding.ASCII.GetBytes(
            "Subject: fine\r\nReferences: " + string.Join("\r\n ", Enumerable.Range(0, 40).Select(i => $"<ref-{i}@mail.example>")) + "\r\n" +
            string.Concat(Enumerable.Range(0, 30).Select(i => $"Received: from hop{i}.example\r\n\tby hop{i + 1}.example; Thu, 3 Dec 2026 08:00:00 +0000\r\n")) +
            "\r\nbody\r\n");

        var lineReply = await SendOnceAsync(gw, longLine);
        var fieldsReply = await SendOnceAsync(gw, manyFields);
        var realReply = await SendOnceAsync(gw, realistic);

        Assert.That(lineReply.Code, Is.EqualTo(552), lineReply.ToString());
        Assert.That(lineReply.Text, Does.StartWith("5.6.0 "));
        Assert.That(fieldsReply.Code, Is.EqualTo(552), fieldsReply.ToString());
        Assert.That(fieldsReply.Text, Does.StartWith("5.6.0 "));
        Assert.That(realReply.Code, Is.EqualTo(250), $"folded References and 30 Received lines are fine: {realReply}");
        Assert.That(gw.IncomingQueueIds(), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task Rcpt_OverMaxRecipients_452ForTheRestAndTheFirstOnesQueued()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted(("Smtp:MaxRecipients", "3")));
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");

        var replies = new List<SmtpReply>();
        for (var i = 0; i < 5; i++) replies.Add(await client.CommandAsync($"RCPT TO:<r{i}@lab.test>"));
        var data = await client.DataAsync(SmtpIngressTests.Message());

        Assert.That(replies.Select(r => r.Code), Is.EqualTo(new[] { 250, 250, 250, 452, 452 }));
        Assert.That(replies[3].Text, Is.EqualTo("4.5.3 Too many recipients"));
        Assert.That(data.Code, Is.EqualTo(250), data.ToString());
        Assert.That(PhiMailGateway.Spool.SpoolFile.Read(gw.Spool.IncomingPath(data.Text[^20..])).Envelope.Recipients,
            Is.EqualTo(new[] { "r0@lab.test", "r1@lab.test", "r2@lab.test" }));
    }
}
