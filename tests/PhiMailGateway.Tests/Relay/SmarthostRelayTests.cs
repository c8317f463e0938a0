using System.Text;
using MimeKit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Relay;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Relay;

public class SmarthostRelayTests
{
    private const string User = "relay-user";
    private const string Password = "relay-secret";

    /// <summary>Folded headers, a header without a space, multipart with preamble and epilogue, 8-bit text, a 900-octet line, dot lines.</summary>
    internal static readonly byte[] TrickyMessage = Encoding.UTF8.GetBytes(
        "Received: from ws1.practice.example ([192.0.2.10])\r\n" +
        "\tby gateway.test with ESMTPSA id 0123456789ABCDEF0123;\r\n" +
        "\tTue, 01 Apr 2025 10:00:00 +0000\r\n" +
        "From: Front Desk <frontdesk@practice.example>\r\n" +
        "To: lab@smilelab.example, Other Lab <other@smilelab.example>\r\n" +
        "Subject: =?utf-8?q?R=C3=B6ntgen?= for TEST^PATIENT, a subject that is folded\r\n" +
        "   over two lines with odd   spacing\r\n" +
        "X-Odd:value-without-space\r\n" +
        "Message-ID: <tricky.1@practice.example>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: multipart/mixed;\r\n" +
        " boundary=\"==b1==\"\r\n" +
        "\r\n" +
        "This is the preamble.\r\n" +
        ".It starts a line with a dot.\r\n" +
        "--==b1==\r\n" +
        "Content-Type: text/plain; charset=utf-8\r\n" +
        "Content-Transfer-Encoding: 8bit\r\n" +
        "\r\n" +
        "Grüße aus der Praxis — 8-bit body, TEST^PATIENT.\r\n" +
        ".a line starting with a dot\r\n" +
        ".\r\n" +
        "..two dots\r\n" +
        new string('x', 900) + "\r\n" +
        "trailing spaces   \r\n" +
        "\r\n" +
        "--==b1==\r\n" +
        "Content-Type: application/octet-stream; name=\"scan.bin\"\r\n" +
        "Content-Transfer-Encoding: base64\r\n" +
        "\r\n" +
        "AAECAwQFBgcICQoLDA0ODw==\r\n" +
        "--==b1==--\r\n" +
        "This is the epilogue.\r\n");

    private static RelayOptions Options(FakeSmtpUpstream upstream, Func<RelayOptions, RelayOptions>? change = null)
    {
        var options = new RelayOptions
        {
            Mode = RelayMode.Smtp,
            Host = "127.0.0.1",
            Port = upstream.Port,
            Security = RelaySecurity.StartTls,
            CertificateThumbprint = upstream.CertificateThumbprintSha256,
            Timeout = TimeSpan.FromSeconds(10),
            Concurrency = 2,
        };
        return change is null ? options : change(options);
    }

    private static SmarthostRelay Relay(RelayOptions options) => new(options, new GatewayOptions { HostName = "gateway.test" });

    private static RelayRequest Request(string id, params string[] recipients) =>
        new(id, "frontdesk@practice.example", recipients, () => new MemoryStream(TrickyMessage, writable: false), RequireTls: false);

    [Test]
    public async Task SmarthostRelay_StartTlsPinnedWithAuth_DeliversExactBytes()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { RequiredUser = User, RequiredPassword = Password });
        await using var relay = Relay(Options(upstream, o => o with { Username = User, Password = Password }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Delivered), string.Join("; ", outcomes));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(250));
        var received = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(received.Sender, Is.EqualTo("frontdesk@practice.example"));
        Assert.That(received.Recipients, Is.EqualTo(new[] { "lab@smilelab.example", "other@smilelab.example" }));
        Assert.That(received.Secure, Is.True, "STARTTLS was used");
        Assert.That(received.User, Is.EqualTo(User), "AUTH happened");
        Assert.That(Encoding.UTF8.GetString(received.Data), Is.EqualTo(Encoding.UTF8.GetString(TrickyMessage)), "readable diff on failure");
        Assert.That(received.Data, Is.EqualTo(TrickyMessage), "relayed bytes equal the content byte for byte");
    }

    [Test]
    public async Task SmarthostRelay_ContentAtAnOffsetInAFile_DeliversExactlyThoseBytes()
    {
        // Like the spool: an envelope prefix, then the message; the relay gets a stream positioned after the prefix.
        var path = Path.Combine(Path.GetTempPath(), $"phimail-relay-{Guid.NewGuid():N}.msg");
        var prefix = Encoding.ASCII.GetBytes("PHIMAIL-SPOOL 1\r\n{\"Sender\":\"x\"}\r\n");
        await File.WriteAllBytesAsync(path, [.. prefix, .. TrickyMessage]);
        try
        {
            await using var upstream = await FakeSmtpUpstream.StartAsync();
            await using var relay = Relay(Options(upstream));
            var request = Request("D1", "lab@smilelab.example") with
            {
                OpenContent = () =>
                {
                    var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                    stream.Seek(prefix.Length, SeekOrigin.Begin);
                    return stream;
                },
            };

            var outcomes = await relay.SendAsync(request, CancellationToken.None);

            Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Delivered), outcomes.Single().Response);
            Assert.That((await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single().Data, Is.EqualTo(TrickyMessage));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task SmarthostRelay_Sha1PinWithColonsLowerCase_Delivers()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var sha1 = string.Join(":", upstream.CertificateThumbprintSha1.Chunk(2).Select(c => new string(c))).ToLowerInvariant();
        await using var relay = Relay(Options(upstream, o => o with { CertificateThumbprint = sha1 }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Delivered), outcomes.Single().Response);
    }

    [Test]
    public async Task SmarthostRelay_UntrustedCertificateWithoutPin_DefersAllAndSendsNothing()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var relay = Relay(Options(upstream, o => o with { CertificateThumbprint = null }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(0));
        Assert.That(outcomes[0].Response, Does.Contain("TLS"));
        Assert.That(upstream.Messages, Is.Empty, "nothing may reach an unverified server");
    }

    [Test]
    public async Task SmarthostRelay_WrongPin_DefersAll()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var relay = Relay(Options(upstream, o => o with { CertificateThumbprint = new string('A', 64) }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Single().Code, Is.EqualTo(0));
        Assert.That(upstream.Messages, Is.Empty);
    }

    [Test]
    public async Task SmarthostRelay_UpstreamWithoutStartTls_DefersWithoutPlaintextFallback()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { StartTls = false });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Single().Response, Does.Contain("STARTTLS"));
        Assert.That(upstream.Messages, Is.Empty, "no plaintext fallback");
    }

    [Test]
    public async Task SmarthostRelay_SslOnConnect_Delivers()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { ImplicitTls = true });
        await using var relay = Relay(Options(upstream, o => o with { Security = RelaySecurity.SslOnConnect }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Delivered), outcomes.Single().Response);
        Assert.That((await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single().Secure, Is.True);
    }

    [Test]
    public async Task SmarthostRelay_Rcpt451ForOneRecipient_DefersItAndDeliversTheOther()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (to, _) => to == "busy@smilelab.example" ? new FakeReply(451, "4.2.0 Mailbox busy") : null,
        });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "busy@smilelab.example", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes[0].Status, Is.EqualTo(RecipientStatus.Deferred), outcomes[0].Response);
        Assert.That(outcomes[0].Code, Is.EqualTo(451));
        Assert.That(outcomes[1].Status, Is.EqualTo(RecipientStatus.Delivered), outcomes[1].Response);
        var received = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single();
        Assert.That(received.Recipients, Is.EqualTo(new[] { "lab@smilelab.example" }));
    }

    [Test]
    public async Task SmarthostRelay_Rcpt451ThenAccepted_DeliversOnRetry()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (_, attempt) => attempt == 1 ? new FakeReply(451, "4.2.0 Try again later") : null,
        });
        await using var relay = Relay(Options(upstream));

        var first = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);
        var second = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(first.Single().Status, Is.EqualTo(RecipientStatus.Deferred), "no recipient accepted: no DATA");
        Assert.That(second.Single().Status, Is.EqualTo(RecipientStatus.Delivered), second.Single().Response);
        Assert.That((await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Count, Is.EqualTo(1));
        Assert.That(upstream.SessionCount, Is.EqualTo(1), "the connection survives a transaction with no accepted recipient");
    }

    [Test]
    public async Task SmarthostRelay_Rcpt550_FailsThatRecipientWithCode550()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (to, _) => to.StartsWith("nobody", StringComparison.Ordinal) ? new FakeReply(550, "5.1.1 No such user") : null,
        });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "nobody@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Failed));
        Assert.That(outcomes.Single().Code, Is.EqualTo(550));
        Assert.That(outcomes.Single().Response, Does.StartWith("550 5.1.1"));
        Assert.That(upstream.Messages, Is.Empty);
        Assert.That(upstream.Rejected, Is.Empty, "no DATA without an accepted recipient");
    }

    [Test]
    public async Task SmarthostRelay_Data554_FailsAllRecipients()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { DataReply = new FakeReply(554, "5.7.1 Content refused") });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Failed));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(554));
        Assert.That(upstream.Rejected, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task SmarthostRelay_Data451_DefersAllRecipients()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { DataReply = new FakeReply(451, "4.3.0 Disk full") });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(451));
    }

    [Test]
    public async Task SmarthostRelay_ConnectionDroppedAfterMailFrom_DefersAll()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { DropAfterMailFrom = true });
        await using var relay = Relay(Options(upstream));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Deferred), string.Join("; ", outcomes));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(0));
        Assert.That(upstream.Messages, Is.Empty);
    }

    [Test]
    public async Task SmarthostRelay_TwoSends_ReuseOneConnection()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { RequiredUser = User, RequiredPassword = Password });
        await using var relay = Relay(Options(upstream, o => o with { Username = User, Password = Password }));

        var first = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);
        var second = await relay.SendAsync(Request("D2", "other@smilelab.example"), CancellationToken.None);

        Assert.That(first.Concat(second).Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Delivered));
        Assert.That(await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(10)), Has.Count.EqualTo(2));
        Assert.That(upstream.SessionCount, Is.EqualTo(1), "the second message reuses the first connection");
    }

    [Test]
    public async Task SmarthostRelay_PooledConnectionClosedByUpstream_ReconnectsOnceAndDelivers()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var relay = Relay(Options(upstream));
        var first = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);
        Assert.That(first.Single().Status, Is.EqualTo(RecipientStatus.Delivered));

        upstream.DropSessions();
        var second = await relay.SendAsync(Request("D2", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(second.Single().Status, Is.EqualTo(RecipientStatus.Delivered), second.Single().Response);
        Assert.That(await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(10)), Has.Count.EqualTo(2));
        Assert.That(upstream.SessionCount, Is.EqualTo(2), "the dead pooled connection was replaced by one new connection");
    }

    [Test]
    public async Task SmarthostRelay_UpstreamGone_DefersAll()
    {
        var upstream = await FakeSmtpUpstream.StartAsync();
        var options = Options(upstream);
        await upstream.DisposeAsync();
        await using var relay = Relay(options);

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Single().Code, Is.EqualTo(0));
    }

    [Test]
    public async Task SmarthostRelay_RequireTlsOverSecurityNone_DefersAndSendsNothing()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { StartTls = false });
        await using var relay = Relay(Options(upstream, o => o with { Security = RelaySecurity.None, CertificateThumbprint = null }));
        var request = Request("D1", "lab@smilelab.example") with { RequireTls = true };

        var outcomes = await relay.SendAsync(request, CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Single().Response, Does.Contain("RequireTls"));
        Assert.That(upstream.SessionCount, Is.EqualTo(0), "not even a connection");
    }

    [Test]
    public async Task SmarthostRelay_SecurityNoneWithoutRequireTls_DeliversInPlaintext()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { StartTls = false });
        await using var relay = Relay(Options(upstream, o => o with { Security = RelaySecurity.None, CertificateThumbprint = null }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Delivered), outcomes.Single().Response);
        Assert.That((await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single().Secure, Is.False);
    }

    private static RelayOptions PlainOptions(int port) => new()
    {
        Mode = RelayMode.Smtp, Host = "127.0.0.1", Port = port, Security = RelaySecurity.None,
        Timeout = TimeSpan.FromSeconds(10), Concurrency = 2,
    };

    [Test]
    public async Task SmarthostRelay_UpstreamOffersChunking_SendsByBdat_TheExactBytesWithoutDotStuffing()
    {
        // A large base64 part (copied raw from the file) and the tricky message's dot lines.
        var large = new MemoryStream();
        var image = new MimePart("application", "pkcs7-mime") { Content = new MimeContent(new MemoryStream(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3_000_000))), ContentTransferEncoding = ContentEncoding.Base64 };
        var encrypted = new MimeMessage { Subject = "encrypted", Body = image };
        encrypted.From.Add(MailboxAddress.Parse("frontdesk@practice.example"));
        encrypted.To.Add(MailboxAddress.Parse("lab@smilelab.example"));
        await encrypted.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, large);
        var path = Path.Combine(Path.GetTempPath(), $"phimail-bdat-{Guid.NewGuid():N}.eml");
        await File.WriteAllBytesAsync(path, large.ToArray());
        try
        {
            await using var upstream = await ChunkingSmtpUpstream.StartAsync();
            await using var relay = Relay(PlainOptions(upstream.Port));

            var tricky = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);
            var big = await relay.SendAsync(Request("D2", "lab@smilelab.example") with { OpenContent = () => File.OpenRead(path) }, CancellationToken.None);

            Assert.That(tricky.Concat(big).Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Delivered), string.Join("; ", tricky.Concat(big)));
            var received = await upstream.WaitForMessagesAsync(2, TimeSpan.FromSeconds(10));
            Assert.That(received, Has.Count.EqualTo(2));
            Assert.That(Encoding.UTF8.GetString(received[0].Data), Is.EqualTo(Encoding.UTF8.GetString(TrickyMessage)), "readable diff on failure");
            Assert.That(received[0].Recipients, Is.EqualTo(new[] { "lab@smilelab.example", "other@smilelab.example" }));
            Assert.That(received[1].Data, Is.EqualTo(large.ToArray()), "the large copy byte for byte");
            Assert.That(upstream.Commands.Count(c => c.StartsWith("BDAT ", StringComparison.Ordinal)), Is.EqualTo(2));
            Assert.That(upstream.Commands, Has.None.EqualTo("DATA"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public async Task SmarthostRelay_UpstreamSilentAfterConnecting_DefersOnceRelayTimeoutPasses()
    {
        // Accepts the connection and never says a word: the wait for the greeting must end.
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var held = listener.AcceptTcpClientAsync();
            await using var relay = Relay(PlainOptions(((System.Net.IPEndPoint)listener.LocalEndpoint).Port) with { Timeout = TimeSpan.FromSeconds(1) });

            var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
            Assert.That(outcomes.Single().Response, Does.Contain("Timed out"));
            (await held).Dispose();
        }
        finally
        {
            listener.Stop();
        }
    }

    [TestCase("554 5.6.0 content refused", RecipientStatus.Failed, 554)]
    [TestCase("451 4.3.0 try again later", RecipientStatus.Deferred, 451)]
    public async Task SmarthostRelay_BdatRefused_FailsOrDefersEveryRecipientByTheCode(string reply, RecipientStatus expected, int code)
    {
        await using var upstream = await ChunkingSmtpUpstream.StartAsync(_ => reply);
        await using var relay = Relay(PlainOptions(upstream.Port));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example", "other@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(expected), string.Join("; ", outcomes));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(code));
        Assert.That(upstream.Messages, Is.Empty);
    }

    [Test]
    public async Task SmarthostRelay_EmptySender_SendsNullReversePath()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var relay = Relay(Options(upstream));
        var request = Request("D1", "frontdesk@practice.example") with { Sender = "" };

        var outcomes = await relay.SendAsync(request, CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Delivered), outcomes.Single().Response);
        Assert.That((await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10))).Single().Sender, Is.Empty, "MAIL FROM:<>");
    }

    [Test]
    public async Task SmarthostRelay_WrongPassword_DefersAll()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { RequiredUser = User, RequiredPassword = Password });
        await using var relay = Relay(Options(upstream, o => o with { Username = User, Password = "wrong" }));

        var outcomes = await relay.SendAsync(Request("D1", "lab@smilelab.example"), CancellationToken.None);

        Assert.That(outcomes.Single().Status, Is.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Single().Code, Is.EqualTo(0));
        Assert.That(upstream.Messages, Is.Empty);
    }
}
