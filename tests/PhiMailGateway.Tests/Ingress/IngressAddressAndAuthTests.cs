using System.Diagnostics;
using System.Globalization;
using System.Text;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>Issue 15 item 6, the SMTP parts: addresses that could never be relayed, AUTH identities, lockout scope, TLS suites.</summary>
public class IngressAddressAndAuthTests
{
    private const string User = "frontdesk@practice.test";
    private const string Password = "correct horse battery staple";

    private static readonly Dictionary<string, string?> Trusted = new() { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" };

    [TestCase("MAIL FROM:<\"a b\"@practice.test>", 553, "5.1.3 quoted local parts are not supported")]
    [TestCase("RCPT TO:<\"a b\"@lab.test>", 553, "5.1.3 quoted local parts are not supported")]
    [TestCase("RCPT TO:<\"x>y\"@lab.test>", 553, "5.1.3 quoted local parts are not supported")]
    [TestCase("MAIL FROM:<jörg@practice.test>", 553, "5.6.7 non-ASCII address not permitted")]
    [TestCase("RCPT TO:<jörg@lab.test>", 553, "5.6.7 non-ASCII address not permitted")]
    [TestCase("RCPT TO:<dr@bücher..example>", 553, "5.1.3 invalid international domain name")]
    public async Task Address_NotRelayable_RefusedAtMailOrRcpt(string command, int code, string text)
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted);
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        if (command.StartsWith("RCPT", StringComparison.Ordinal)) SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");

        var reply = await client.CommandAsync(command);

        Assert.That(reply.Code, Is.EqualTo(code), reply.ToString());
        Assert.That(reply.Text, Is.EqualTo(text));
        Assert.That((await client.CommandAsync("NOOP")).Code, Is.EqualTo(250), "the session goes on");
    }

    [Test]
    public async Task Address_LongUnicodeLabel_RefusedAsInvalidInternationalDomain()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(Trusted);
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.EhloAsync();
        SmtpTestClient.Expect(await client.CommandAsync("MAIL FROM:<frontdesk@practice.test>"), 250, "MAIL");

        var reply = await client.CommandAsync($"RCPT TO:<dr@{new string('ü', 60)}.example>");

        Assert.That(reply.ToString(), Is.EqualTo("553 5.1.3 invalid international domain name"), "its A-label would be longer than 63");
    }

    [Test]
    public async Task Relay_InternationalDomain_SmarthostWithoutSmtpUtf8GetsTheALabel()
    {
        // A smarthost that does not offer SMTPUTF8 (one that does gets the UTF-8 form from MailKit, as RFC 6531 allows).
        await using var upstream = await ChunkingSmtpUpstream.StartAsync();
        await using var gw = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:Mode"] = "Smtp", ["Relay:Host"] = "127.0.0.1", ["Relay:Security"] = "None",
            ["Relay:Port"] = upstream.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["Relay:RetrySchedule"] = "00:00:00.200",
        });
        await gw.AddUserAsync("frontdesk", "correct horse");

        await RelayEndToEndTests.SubmitAsync(gw, SmtpIngressTests.Message(), "dr.lee@spécialist.example");

        await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        var expected = "dr.lee@" + new IdnMapping().GetAscii("spécialist.example");
        Assert.That(expected, Does.Contain("xn--"));
        Assert.That(upstream.Commands, Has.Some.EqualTo($"RCPT TO:<{expected}>"), "the smarthost gets a domain it can resolve:\n" + string.Join("\n", upstream.Commands));
    }

    private static async Task<SmtpTestClient> SecureAsync(TestGateway gw, string from = "127.0.0.1")
    {
        var client = await SmtpTestClient.ConnectAsync(gw.Port, from: from);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        return client;
    }

    private static string Plain(string authzid, string user, string password) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{authzid}\0{user}\0{password}"));

    [Test]
    public async Task AuthPlain_AuthorizationIdentityOfAnotherUser_Refused535()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync();
        await gw.AddUserAsync(User, Password);
        await using var client = await SecureAsync(gw);

        var other = await client.CommandAsync("AUTH PLAIN " + Plain("boss@practice.test", User, Password));
        var same = await client.CommandAsync("AUTH PLAIN " + Plain(User, User, Password));

        Assert.That(other.Code, Is.EqualTo(535), other.ToString());
        Assert.That(other.Text, Does.StartWith("5.7.8 "));
        Assert.That(same.Code, Is.EqualTo(235), $"naming oneself as the authorization identity is fine: {same}");
    }

    [Test]
    public async Task Auth_StalePasswordOnOneMachine_LocksOnlyThatMachineWithRemainingCountsAndTime()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "3" });
        await gw.AddUserAsync(User, Password);

        var replies = new List<SmtpReply>();
        for (var i = 0; i < 3; i++)
        {
            await using var stale = await SecureAsync(gw, from: "127.0.0.2");
            replies.Add(await stale.AuthPlainAsync(User, "old password"));
        }
        await using (var stale = await SecureAsync(gw, from: "127.0.0.2"))
            replies.Add(await stale.AuthPlainAsync(User, Password));
        await using var office = await SecureAsync(gw, from: "127.0.0.3");
        var elsewhere = await office.AuthPlainAsync(User, Password);

        Assert.That(replies[0].Text, Does.Contain("2 attempts remaining"), replies[0].ToString());
        Assert.That(replies[1].Text, Does.Contain("1 attempt remaining"), replies[1].ToString());
        Assert.That(replies[2].Code, Is.EqualTo(454), "a lockout is its own reply, not another wrong password: " + replies[2]);
        Assert.That(replies[2].Text, Does.Match(@"^4\.7\.0 Authentication temporarily locked, try again at \d{4}-\d\d-\d\dT\d\d:\d\d:00Z$"), replies[2].ToString());
        Assert.That(replies[3].Code, Is.EqualTo(454), "locked: even the right password from that machine");
        Assert.That(replies[3].Text, Does.Contain("locked"), replies[3].ToString());
        Assert.That(elsewhere.Code, Is.EqualTo(235), "the same user from another machine is not locked out");
    }

    [Test]
    public async Task Auth_FailuresForOneUserFromManyAddresses_PerUserCeilingLocksTheUser()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:MaxAuthFailures"] = "3",
            ["Smtp:MaxAuthFailuresPerUser"] = "4",
        });
        await gw.AddUserAsync(User, Password);

        for (var i = 0; i < 4; i++)
        {
            await using var guesser = await SecureAsync(gw, from: $"127.0.0.{10 + i % 2}");
            await guesser.AuthPlainAsync(User, "guess" + i);
        }
        await using var office = await SecureAsync(gw, from: "127.0.0.20");
        var right = await office.AuthPlainAsync(User, Password);

        Assert.That(right.Code, Is.EqualTo(454), $"four failures from two addresses reach the per-user ceiling: {right}");
        Assert.That(right.Text, Does.Contain("locked"));
    }

    private static async Task<(int ExitCode, string Output)> OpenSslAsync(string arguments)
    {
        var start = new ProcessStartInfo("openssl", arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var guard = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(guard.Token);
        return (process.ExitCode, await output + await error);
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task Tls12_CbcSuiteRefusedGcmSuiteAccepted(bool implicitTls)
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:ImplicitTlsPort"] = TestGateway.FreePort });
        var port = implicitTls ? gw.ImplicitTlsPort!.Value : gw.Port;
        var starttls = implicitTls ? "" : "-starttls smtp ";

        var cbc = await OpenSslAsync($"s_client -connect 127.0.0.1:{port} {starttls}-tls1_2 -cipher ECDHE-RSA-AES128-SHA256");
        var gcm = await OpenSslAsync($"s_client -connect 127.0.0.1:{port} {starttls}-tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256");
        TestContext.Out.WriteLine(cbc.Output);

        Assert.That(cbc.ExitCode, Is.Not.Zero, "no TLS 1.2 CBC suite is offered");
        Assert.That(cbc.Output, Does.Not.Contain("Cipher is ECDHE-RSA-AES128-SHA256"));
        Assert.That(gcm.ExitCode, Is.Zero, gcm.Output);
        Assert.That(gcm.Output, Does.Contain("Cipher is ECDHE-RSA-AES128-GCM-SHA256"));
    }
}
