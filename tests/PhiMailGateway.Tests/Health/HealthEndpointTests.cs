using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Cli;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Health;

/// <summary>Issue 22 item 9: what IT's monitoring sees, over real HTTP against the running gateway.</summary>
// Sets PHIMAIL_CONFIG (TestConfig) while a host is built: process-wide.
[NonParallelizable]
public class HealthEndpointTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(15) };

    private static int PickupPort(TestGateway gw) => gw.Services.GetRequiredService<PickupOptions>().Port;

    private static int MetricsPort(TestGateway gw) => gw.Services.GetRequiredService<MetricsOptions>().Port!.Value;

    [Test]
    public async Task Health_OnThePickupListenerWithoutAuthentication_200Healthy()
    {
        await using var gw = await TestGateway.StartAsync();

        using var response = await Http.GetAsync($"http://127.0.0.1:{PickupPort(gw)}/health");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("status").GetString(), Is.EqualTo("healthy"));
        Assert.That(json.RootElement.GetProperty("checks").GetProperty("database").GetString(), Is.EqualTo("ok"));
        Assert.That(json.RootElement.GetProperty("checks").GetProperty("smtp").GetString(), Is.EqualTo("ok"));
        Assert.That(response.Headers.CacheControl?.NoStore, Is.True, "a cached health answer would hide an outage");
    }

    [Test]
    public async Task Health_SmtpListenerStopped_503DegradedNamingSmtp()
    {
        await using var gw = await TestGateway.StartAsync();
        await gw.Ingress.StopAsync(CancellationToken.None);

        using var response = await Http.GetAsync($"http://127.0.0.1:{PickupPort(gw)}/health");
        var body = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable), body);
        using var json = JsonDocument.Parse(body);
        Assert.That(json.RootElement.GetProperty("status").GetString(), Is.EqualTo("degraded"));
        Assert.That(json.RootElement.GetProperty("checks").GetProperty("smtp").GetString(), Is.EqualTo("not listening"));
    }

    [Test]
    public async Task Metrics_NotOnThePickupListener()
    {
        await using var gw = await TestGateway.StartAsync(new Dictionary<string, string?> { ["Metrics:Port"] = TestGateway.FreePort });

        using var onPickup = await Http.GetAsync($"http://127.0.0.1:{PickupPort(gw)}/metrics");

        Assert.That(onPickup.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "the pickup listener faces recipients; counts stay on IT's listener");
    }

    [Test]
    public async Task Metrics_AfterARealSubmission_CountAcceptedAndRelayedByActionAndShowTheQueue()
    {
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var settings = RelayEndToEndTests.SmarthostSettings(upstream);
        settings["Metrics:Port"] = TestGateway.FreePort;
        await using var gw = await TestGateway.StartAsync(settings);
        await gw.AddUserAsync("frontdesk", "correct horse");
        var url = $"http://127.0.0.1:{MetricsPort(gw)}/metrics";

        using var first = await Http.GetAsync(url);
        var before = await first.Content.ReadAsStringAsync();
        Assert.That(first.Content.Headers.ContentType?.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        Assert.That(Value(before, "phimail_messages_accepted_total"), Is.EqualTo(0), before);
        Assert.That(before, Does.Contain("phimail_queue_oldest_age_seconds 0"));

        await RelayEndToEndTests.SubmitAsync(gw, SmtpIngressTestsMessage(), "dr.lee@specialist.example");
        await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20));
        string after = "";
        await RelayEndToEndTests.WaitUntilAsync(async () =>
        {
            after = await Http.GetStringAsync(url);
            return Value(after, "phimail_recipients_total{outcome=\"relayed\",action=\"Relay\"}") == 1;
        }, "the relayed recipient is counted");

        Assert.That(Value(after, "phimail_messages_accepted_total"), Is.EqualTo(1), after);
        Assert.That(after, Does.Contain("# TYPE phimail_queue_messages gauge"));
        Assert.That(after, Does.Match(@"phimail_queue_messages\{state=""Held""\} 0"));
        Assert.That(after, Does.Not.Contain("dr.lee").And.Not.Contain("specialist.example"), "no address becomes a label");
        using var health = await Http.GetAsync($"http://127.0.0.1:{MetricsPort(gw)}/health");
        Assert.That(health.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the monitoring listener answers /health too");
    }

    [Test]
    public async Task Metrics_RecipientRefusedByARejectRule_CountedAsRejectedBesideTheRelayedOne()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var settings = RelayEndToEndTests.SmarthostSettings(upstream);
        settings["Metrics:Port"] = TestGateway.FreePort;
        TestGateway gw;
        using (TestConfig.Use(data.Path, """
            { "Rules": [
              { "Name": "no-blocked", "When": { "RecipientDomains": [ "blocked.example" ] }, "Action": "Reject", "Message": "Not to blocked.example." },
              { "Name": "everything-else", "Action": "Relay" }
            ] }
            """))
        {
            gw = await TestGateway.StartAsync(settings);
        }
        await using (gw)
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            var url = $"http://127.0.0.1:{MetricsPort(gw)}/metrics";

            await RelayEndToEndTests.SubmitAsync(gw, SmtpIngressTestsMessage(), "dr.lee@specialist.example", "someone@blocked.example");
            string text = "";
            await RelayEndToEndTests.WaitUntilAsync(async () =>
            {
                text = await Http.GetStringAsync(url);
                return Value(text, "phimail_recipients_total{outcome=\"relayed\",action=\"Relay\"}") == 1;
            }, "the relayed recipient is counted");

            Assert.That(Value(text, "phimail_recipients_total{outcome=\"rejected\",action=\"Reject\"}"), Is.EqualTo(1), text);
            Assert.That(text, Does.Not.Contain("blocked.example"));
        }
    }

    [Test]
    public async Task Relay_SmarthostPortClosed_WarningNamesHostPortAndTheErrorButNoAddress()
    {
        var closedPort = TestGateway.GetFreePort();
        var logs = new RecordingLoggerProvider();
        await using var gw = await TestGateway.StartAsync(new Dictionary<string, string?>
        {
            ["Relay:Mode"] = "Smtp",
            ["Relay:Host"] = "127.0.0.1",
            ["Relay:Port"] = closedPort.ToString(CultureInfo.InvariantCulture),
            ["Relay:Security"] = "None",
            ["Relay:RetrySchedule"] = "00:10:00",
            ["Logging:LogLevel:PhiMailGateway"] = "Information",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        await gw.AddUserAsync("frontdesk", "correct horse");

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, SmtpIngressTestsMessage(), "dr.lee@specialist.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(logs.Count(4200) > 0), "the relay failure is logged");

        var failure = logs.WithId(4200).First();
        Assert.That(failure.Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(failure.Message, Does.Contain($"smarthost 127.0.0.1:{closedPort}").And.Contain("ConnectionRefused"), failure.Message);
        Assert.That(failure.Message, Does.Not.Contain("dr.lee").And.Not.Contain(RelayEndToEndTests.Sender));
        var accepted = logs.WithId(1010).Single();
        Assert.That(accepted.Level, Is.EqualTo(LogLevel.Information));
        Assert.That(accepted.Message, Does.Contain($"queued {queueId} from user frontdesk, Message-ID test-1@practice.test,"), accepted.Message);
        Assert.That(accepted.Message, Does.Not.Contain("dr.lee").And.Not.Contain(RelayEndToEndTests.Sender), "the accept line names the staff user, never an envelope address");
    }

    [Test]
    public async Task HealthVerb_AgainstTheRunningGateway_Exit0AndAgainstNothing_Exit1()
    {
        await using var gw = await TestGateway.StartAsync();
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var healthy = await GatewayCommandLine.RunAsync(["health", $"--Gateway:DataDirectory={gw.DataDirectory}", $"--Pickup:Port={PickupPort(gw)}"], TextReader.Null, stdout, stderr);
        var nothing = await GatewayCommandLine.RunAsync(["health", "--url", $"http://127.0.0.1:{TestGateway.GetFreePort()}/health"], TextReader.Null, new StringWriter(), stderr);

        Assert.That(healthy, Is.EqualTo(0), stdout + stderr.ToString());
        Assert.That(stdout.ToString(), Does.StartWith("200 {\"status\":\"healthy\""));
        Assert.That(nothing, Is.EqualTo(1), "no answer is unhealthy");
        Assert.That(stderr.ToString(), Does.Contain("health: no answer from"));
    }

    private static byte[] SmtpIngressTestsMessage() => PhiMailGateway.Tests.Ingress.SmtpIngressTests.Message();

    /// <summary>The value of one series in Prometheus text, or -1 when it is absent.</summary>
    private static long Value(string text, string series)
    {
        var match = Regex.Match(text, "^" + Regex.Escape(series) + @" (\d+)$", RegexOptions.Multiline);
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }
}
