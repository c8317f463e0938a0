using System.Text;
using MailKit.Security;
using MimeKit;
using PhiMailGateway.Spool;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>The SMTP conversation over real loopback sockets, against the whole gateway host.</summary>
public class SmtpIngressTests
{
    private const string User = "frontdesk@practice.test";
    private const string Password = "correct horse battery staple";

    internal static byte[] Message(string body = "Hello from the front desk.") => Encoding.ASCII.GetBytes(
        "From: <frontdesk@practice.test>\r\n" +
        "To: <lab@lab.test>\r\n" +
        "Subject: Test\r\n" +
        "Message-ID: <test-1@practice.test>\r\n" +
        "\r\n" +
        body + "\r\n");

    private static async Task<TestGateway> StartWithUserAsync(IDictionary<string, string?>? overrides = null)
    {
        var gw = await TestGateway.StartIngressOnlyAsync(overrides);
        await gw.AddUserAsync(User, Password);
        return gw;
    }

    private static async Task<SmtpReply> SubmitAsync(SmtpTestClient client, byte[] message, string from = "<frontdesk@practice.test>", string to = "<lab@lab.test>")
    {
        SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:{from}"), 250, "MAIL");
        SmtpTestClient.Expect(await client.CommandAsync($"RCPT TO:{to}"), 250, "RCPT");
        return await client.DataAsync(message);
    }

    private static string QueueIdOf(SmtpReply reply)
    {
        var match = System.Text.RegularExpressions.Regex.Match(reply.Text, @"^2\.0\.0 Ok: queued as ([0-9A-F]{20})$");
        Assert.That(match.Success, Is.True, $"reply names the queue id: {reply}");
        return match.Groups[1].Value;
    }

    [Test]
    public async Task Ehlo_BeforeStartTls_OffersStartTlsAndSizeButNotAuth()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxMessageBytes"] = "100000" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);

        Assert.That(client.Greeting.Code, Is.EqualTo(220), client.Greeting.ToString());
        var ehlo = await client.EhloAsync();

        Assert.That(ehlo.Code, Is.EqualTo(250), ehlo.ToString());
        Assert.That(ehlo.Lines, Does.Contain("SIZE 100000"), "SIZE advertises Smtp:MaxMessageBytes");
        Assert.That(ehlo.HasExtension("8BITMIME"), Is.True, ehlo.ToString());
        Assert.That(ehlo.HasExtension("PIPELINING"), Is.True, ehlo.ToString());
        Assert.That(ehlo.HasExtension("STARTTLS"), Is.True, ehlo.ToString());
        Assert.That(ehlo.HasExtension("AUTH"), Is.False, "no AUTH before TLS: passwords never cross in clear");
    }

    [Test]
    public async Task Ehlo_AfterStartTls_OffersAuthPlainLogin()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        SmtpTestClient.Expect(await client.StartTlsAsync(), 220, "STARTTLS");
        var ehlo = await client.EhloAsync();

        Assert.That(ehlo.Lines.Any(l => l.StartsWith("AUTH", StringComparison.Ordinal) && l.Contains("PLAIN") && l.Contains("LOGIN")), Is.True, ehlo.ToString());
        Assert.That(ehlo.HasExtension("STARTTLS"), Is.False, "STARTTLS is not offered twice");
    }

    [Test]
    public async Task Auth_BeforeStartTls_IsNotAccepted()
    {
        await using var gw = await StartWithUserAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var reply = await client.AuthPlainAsync(User, Password);

        Assert.That(reply.Code, Is.InRange(500, 599), $"AUTH in clear is refused: {reply}");
    }

    [Test]
    public async Task Submission_AuthenticatedOverStartTls_QueuesExactBytesAfterReceivedHeader()
    {
        await using var gw = await StartWithUserAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.LoginAsync(User, Password);
        var sent = Message();

        var reply = await SubmitAsync(client, sent);

        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
        var queueId = QueueIdOf(reply);
        var path = Path.Combine(gw.DataDirectory, "spool", "incoming", queueId + ".msg");
        Assert.That(File.Exists(path), Is.True, "250 only after the spool file exists");

        var entry = SpoolFile.Read(path);
        Assert.That(entry.Envelope.Sender, Is.EqualTo("frontdesk@practice.test"));
        Assert.That(entry.Envelope.Recipients, Is.EqualTo(new[] { "lab@lab.test" }));
        Assert.That(entry.Envelope.AuthenticatedUser, Is.EqualTo(User));
        Assert.That(entry.Envelope.ClientAddress, Is.EqualTo("127.0.0.1"));
        Assert.That(entry.Envelope.HeloName, Is.EqualTo("client.test"));
        Assert.That(entry.Envelope.Secure, Is.True);

        var expected = ReceivedHeader.Build(entry.Envelope, queueId, TestGateway.HostName).Concat(sent).ToArray();
        var stored = gw.ReadQueuedMessage(queueId);
        Assert.That(Encoding.ASCII.GetString(stored), Is.EqualTo(Encoding.ASCII.GetString(expected)), "stored = our Received header + the bytes sent");
        Assert.That(await gw.QueueRowCountAsync(), Is.EqualTo(1));
    }

    [Test]
    public async Task Submission_MailKitWithStartTlsAndAuth_IsQueued()
    {
        await using var gw = await StartWithUserAsync();
        using var smtp = SmtpTestClient.CreateMailKit();
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(User));
        message.To.Add(MailboxAddress.Parse("lab@lab.test"));
        message.To.Add(MailboxAddress.Parse("dentist@clinic.test"));
        message.Subject = "Test";
        message.Body = new TextPart("plain") { Text = "Hello" };

        await smtp.ConnectAsync("127.0.0.1", gw.Port, SecureSocketOptions.StartTls);
        await smtp.AuthenticateAsync(User, Password);
        var response = await smtp.SendAsync(message);
        await smtp.DisconnectAsync(true);

        Assert.That(response, Does.StartWith("2.0.0 Ok: queued as "), response);
        var queueId = response["2.0.0 Ok: queued as ".Length..];
        Assert.That(gw.IncomingQueueIds(), Is.EqualTo(new[] { queueId }));
        Assert.That(SpoolFile.Read(gw.Spool.IncomingPath(queueId)).Envelope.Recipients, Is.EqualTo(new[] { "lab@lab.test", "dentist@clinic.test" }));
    }

    [Test]
    public async Task AuthLogin_CorrectPassword_AuthenticatesAndQueues()
    {
        await using var gw = await StartWithUserAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();

        var auth = await client.AuthLoginAsync(User, Password);
        var reply = await SubmitAsync(client, Message());

        Assert.That(auth.Code, Is.EqualTo(235), auth.ToString());
        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
    }

    [Test]
    public async Task Auth_WrongPasswordRepeated_Returns535ThenLocksOutEvenTheRightPasswordWith454()
    {
        await using var gw = await StartWithUserAsync(new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "3" });

        for (var i = 0; i < 3; i++)
        {
            // New connections each time: the lockout is per client address, not per session.
            await using var attacker = await SmtpTestClient.ConnectAsync(gw.Port);
            await attacker.EhloAsync();
            await attacker.StartTlsAsync();
            await attacker.EhloAsync();
            var wrong = await attacker.AuthPlainAsync(User, "guess" + i);
            // The failure that reaches the ceiling already answers with the lockout (454), not another 535.
            Assert.That(wrong.Code, Is.EqualTo(i < 2 ? 535 : 454), $"attempt {i + 1}: {wrong}");
        }

        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        var right = await client.AuthPlainAsync(User, Password);

        Assert.That(right.Code, Is.EqualTo(454), "locked out: even the right password is refused (temporarily) until Smtp:AuthLockout passes");
    }

    [Test]
    public async Task Auth_SuccessAfterFailures_ResetsTheCounter()
    {
        await using var gw = await StartWithUserAsync(new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "2" });

        async Task<int> TryAsync(string password)
        {
            await using var c = await SmtpTestClient.ConnectAsync(gw.Port);
            await c.EhloAsync();
            await c.StartTlsAsync();
            await c.EhloAsync();
            return (await c.AuthPlainAsync(User, password)).Code;
        }

        Assert.That(await TryAsync("typo"), Is.EqualTo(535));
        Assert.That(await TryAsync(Password), Is.EqualTo(235));
        Assert.That(await TryAsync("typo again"), Is.EqualTo(535), "one failure after a success is not yet a lockout");
        Assert.That(await TryAsync(Password), Is.EqualTo(235));
    }

    [Test]
    public async Task Mail_Unauthenticated_Returns530AndNothingIsSpooled()
    {
        await using var gw = await StartWithUserAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();

        var mail = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>");
        var rcpt = await client.CommandAsync("RCPT TO:<lab@lab.test>");
        var data = await client.CommandAsync("DATA");

        Assert.That(mail.Code, Is.EqualTo(530), mail.ToString());
        Assert.That(mail.Text, Does.StartWith("5.7.0 Authentication required"));
        // Out-of-sequence commands: SmtpServer 11's state machine answers 501 ("expected ...") where
        // RFC 5321 says 503, and the reply cannot be changed from outside the library.
        Assert.That(rcpt.Code, Is.AnyOf(501, 503), $"no transaction was started: {rcpt}");
        Assert.That(data.Code, Is.AnyOf(501, 503), data.ToString());
        Assert.That(gw.IncomingQueueIds(), Is.Empty);
        Assert.That(await gw.QueueRowCountAsync(), Is.Zero);
    }

    [Test]
    public async Task Submission_FromTrustedNetworkWithoutAuth_IsQueued()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var reply = await SubmitAsync(client, Message());

        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
        var entry = SpoolFile.Read(gw.Spool.IncomingPath(QueueIdOf(reply)));
        Assert.That(entry.Envelope.AuthenticatedUser, Is.Null);
        Assert.That(entry.Envelope.Secure, Is.False);
    }

    [Test]
    public async Task Mail_SenderOutsideGatewayDomains_Returns553()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8",
            ["Gateway:Domains:0"] = "practice.test",
        });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var foreign = await client.CommandAsync("MAIL FROM:<someone@elsewhere.test>");
        var own = await client.CommandAsync("MAIL FROM:<FrontDesk@PRACTICE.test>");
        await client.CommandAsync("RSET");
        var bounce = await client.CommandAsync("MAIL FROM:<>");

        Assert.That(foreign.Code, Is.EqualTo(553), foreign.ToString());
        Assert.That(foreign.Text, Does.StartWith("5.7.1 "));
        Assert.That(own.Code, Is.EqualTo(250), $"domains compare case-insensitively: {own}");
        Assert.That(bounce.Code, Is.EqualTo(250), $"null reverse-path from a trusted client is allowed: {bounce}");
    }

    [Test]
    public async Task Submission_NullReversePath_IsStoredAsEmptySender()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var reply = await SubmitAsync(client, Message(), from: "<>");

        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
        Assert.That(SpoolFile.Read(gw.Spool.IncomingPath(QueueIdOf(reply))).Envelope.Sender, Is.EqualTo(""));
    }

    [Test]
    public async Task Mail_DeclaredSizeOverLimit_Returns552()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8",
            ["Smtp:MaxMessageBytes"] = "10000",
        });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var reply = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test> SIZE=20000");
        var within = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test> SIZE=5000");

        Assert.That(reply.Code, Is.EqualTo(552), reply.ToString());
        Assert.That(within.Code, Is.EqualTo(250), $"session still usable: {within}");
    }

    [Test]
    public async Task Data_OverLimitWithoutSize_Returns552AndNothingIsSpooled()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8",
            ["Smtp:MaxMessageBytes"] = "10000",
        });
        var body = string.Join("\r\n", Enumerable.Repeat(new string('x', 76), 400)); // ~31 KB
        await using (var client = await SmtpTestClient.ConnectAsync(gw.Port))
        {
            await client.EhloAsync();
            var reply = await SubmitAsync(client, Message(body));
            var after = await client.CommandAsync("NOOP");
            TestContext.Out.WriteLine($"DATA: {reply}; NOOP: {after}");

            Assert.That(reply.Code, Is.EqualTo(552), reply.ToString());
            Assert.That(after.Code is 250 or -1 or 221 or 421, Is.True, $"session usable or closed cleanly afterwards: {after}");
        }
        // The session has ended (the client left): whatever it would have spooled is on disk by now.
        await gw.WaitForIdleAsync();
        Assert.That(gw.IncomingQueueIds(), Is.Empty);
        Assert.That(Directory.GetFiles(gw.Spool.Temp), Is.Empty, "no temp file left");
        Assert.That(await gw.QueueRowCountAsync(), Is.Zero);
    }

    [Test]
    public async Task Command_Garbage_Returns5xxAndSessionKeepsWorking()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var garbage = await client.CommandAsync("XYZZY plugh");
        var noop = await client.CommandAsync("NOOP");

        Assert.That(garbage.Code, Is.AnyOf(500, 502), garbage.ToString());
        Assert.That(noop.Code, Is.EqualTo(250), noop.ToString());
    }

    [TestCase("MAIL FROM:<{0}@practice.test>")]
    [TestCase("RCPT TO:<{0}@lab.test>")]
    [TestCase("XLONG {0}")]
    public async Task Command_2000CharacterLine_ClearErrorAndSessionUsable(string template)
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        if (template.StartsWith("RCPT", StringComparison.Ordinal)) SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");

        var longLine = await client.CommandAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, new string('a', 2000)));
        var noop = await client.CommandAsync("NOOP");
        TestContext.Out.WriteLine($"long line: {longLine}; NOOP: {noop}");

        Assert.That(longLine.Code, Is.InRange(500, 599).Or.EqualTo(-1), $"refused clearly (or closed): {longLine}");
        Assert.That(noop.Code is 250 or -1, Is.True, $"session usable or closed cleanly: {noop}");
        await using var next = await SmtpTestClient.ConnectAsync(gw.Port);
        Assert.That(next.Greeting.Code, Is.EqualTo(220), "the listener survived");
    }

    [Test]
    public async Task Rcpt_BeforeMail_IsRefusedAsBadSequence()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();

        var reply = await client.CommandAsync("RCPT TO:<lab@lab.test>");
        var mail = await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>");

        // RFC 5321 says 503; SmtpServer 11's state machine says 501 "expected ... MAIL" and offers no hook to change it.
        Assert.That(reply.Code, Is.AnyOf(501, 503), reply.ToString());
        Assert.That(reply.Text, Does.Contain("MAIL"), "the reply says what was expected");
        Assert.That(mail.Code, Is.EqualTo(250), $"session keeps working: {mail}");
    }

    [Test]
    public async Task Data_SmuggledEndOfDataWithBareLf_QueuesExactlyOneMessageContainingIt()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        var smuggled = Encoding.ASCII.GetBytes(
            "From: <frontdesk@practice.test>\r\nTo: <lab@lab.test>\r\nSubject: Test\r\n\r\n" +
            "first part\n.\nMAIL FROM:<attacker@evil.test>\r\nRCPT TO:<victim@lab.test>\r\nDATA\r\n" +
            "smuggled\r\n");

        var reply = await SubmitAsync(client, smuggled);
        var noop = await client.CommandAsync("NOOP");

        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
        Assert.That(noop.Code, Is.EqualTo(250), $"nothing left in the pipeline answered for the smuggled commands: {noop}");
        Assert.That(gw.IncomingQueueIds(), Has.Count.EqualTo(1), "exactly one message");
        var stored = Encoding.ASCII.GetString(gw.ReadQueuedMessage(QueueIdOf(reply)));
        Assert.That(stored, Does.Contain("first part\r\n.\r\nMAIL FROM:<attacker@evil.test>\r\n"), "the smuggled text stays inside, bare LF normalised to CRLF");
        Assert.That(stored, Does.Not.Match("[^\r]\n"), "no bare LF is stored");
    }

    [Test]
    public async Task Data_ClientDisconnectsMidData_NothingIsQueued()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });
        await using (var client = await SmtpTestClient.ConnectAsync(gw.Port))
        {
            await client.EhloAsync();
            await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>");
            await client.CommandAsync("RCPT TO:<lab@lab.test>");
            SmtpTestClient.Expect(await client.CommandAsync("DATA"), 354, "DATA");
            await client.SendRawAsync(Encoding.ASCII.GetBytes("Subject: half\r\n\r\nhalf a message"));
        }

        await gw.WaitForIdleAsync();

        Assert.That(gw.IncomingQueueIds(), Is.Empty);
        Assert.That(Directory.GetFiles(gw.Spool.Temp), Is.Empty);
        Assert.That(await gw.QueueRowCountAsync(), Is.Zero);
    }

    [Test]
    public async Task ImplicitTlsPort_Configured_AcceptsAuthenticatedSubmission()
    {
        await using var gw = await StartWithUserAsync(new Dictionary<string, string?> { ["Smtp:ImplicitTlsPort"] = TestGateway.FreePort });
        Assert.That(gw.ImplicitTlsPort, Is.Not.Null);
        await using var client = await SmtpTestClient.ConnectAsync(gw.ImplicitTlsPort!.Value, implicitTls: true);

        var ehlo = await client.EhloAsync();
        var auth = await client.AuthPlainAsync(User, Password);
        var reply = await SubmitAsync(client, Message());

        Assert.That(client.Greeting.Code, Is.EqualTo(220));
        Assert.That(ehlo.HasExtension("STARTTLS"), Is.False, "already under TLS");
        Assert.That(auth.Code, Is.EqualTo(235), auth.ToString());
        Assert.That(reply.Code, Is.EqualTo(250), reply.ToString());
        Assert.That(SpoolFile.Read(gw.Spool.IncomingPath(QueueIdOf(reply))).Envelope.Secure, Is.True);
        Assert.That(gw.Ingress.BoundEndpoints.Select(e => e.Port), Is.EquivalentTo(new[] { gw.Port, gw.ImplicitTlsPort.Value }));
    }

    [Test]
    public async Task Greeting_DoesNotRevealLibraryVersion()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);

        Assert.That(client.Greeting.Text, Is.EqualTo(TestGateway.HostName + " ESMTP ready"));
    }
}
