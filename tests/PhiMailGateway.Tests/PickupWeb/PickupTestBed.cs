using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using MimeKit;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>A sent pickup notice: the relayed mail, the link in it, and the package behind it.</summary>
public sealed record PickupDelivery(ReceivedMessage Notice, MimeMessage Parsed, string Link, string Token, string PackageId);

/// <summary>
/// The whole gateway with the pickup page on a free loopback port, relaying to a
/// <see cref="FakeSmtpUpstream"/> (where the notices and the code mails arrive) and recording the
/// pickup audit events. Default rules: a dental image for a recipient without certificate goes to Pickup.
/// </summary>
public sealed partial class PickupTestBed : IAsyncDisposable
{
    private PickupTestBed(FakeSmtpUpstream upstream, TestGateway gateway, RecordingAuditTrail audit)
    {
        Upstream = upstream;
        Gateway = gateway;
        Audit = audit;
    }

    public FakeSmtpUpstream Upstream { get; }
    public TestGateway Gateway { get; }
    public RecordingAuditTrail Audit { get; }
    public PickupOptions Options => Gateway.Services.GetRequiredService<PickupOptions>();
    public PickupPackageStore Store => Gateway.Services.GetRequiredService<PickupPackageStore>();
    public IPickupCodes Codes => Gateway.Services.GetRequiredService<IPickupCodes>();
    public string BaseUrl => Options.PublicBaseUrl;

    public static async Task<PickupTestBed> StartAsync(IDictionary<string, string?>? overrides = null, Action<IServiceCollection>? configureServices = null)
    {
        var upstream = await FakeSmtpUpstream.StartAsync();
        var settings = RelayEndToEndTests.SmarthostSettings(upstream);
        settings["Pickup:Port"] = TestGateway.FreePort;
        settings["Pickup:PracticeName"] = "Smile Dental";
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>()) settings[k] = v;
        var audit = new RecordingAuditTrail();
        try
        {
            var gateway = await TestGateway.StartAsync(settings, services =>
            {
                services.AddSingleton<IAuditTrail>(sp => audit.Over(sp.GetRequiredService<DisclosureLog>()));
                configureServices?.Invoke(services);
            });
            await gateway.AddUserAsync("frontdesk", "correct horse");
            return new PickupTestBed(upstream, gateway, audit);
        }
        catch
        {
            await upstream.DisposeAsync();
            throw;
        }
    }

    public static MimeMessage XrayMessage(byte[] image, string fileName = "bitewing-TEST^PATIENT.jpg", string subject = "[secure] Referral for TEST^PATIENT") =>
        Message(subject, (fileName, image, "image/jpeg"));

    public static MimeMessage Message(string subject, params (string Name, byte[] Content, string MimeType)[] attachments)
    {
        var message = DentalCorpus.WithAttachments(attachments);
        message.Subject = subject;
        return message;
    }

    /// <summary>Submits over SMTP and waits for the notice to <paramref name="recipient"/> at the upstream.</summary>
    public async Task<PickupDelivery> SendAsync(MimeMessage message, string recipient)
    {
        await RelayEndToEndTests.SubmitAsync(Gateway, Wire(message), recipient);
        return await WaitForNoticeAsync(recipient);
    }

    /// <summary>The first pickup notice relayed to <paramref name="recipient"/>, with its link and package.</summary>
    public async Task<PickupDelivery> WaitForNoticeAsync(string recipient)
    {
        var notice = await WaitForAsync(recipient, m => !(m.Subject ?? "").StartsWith("Your code", StringComparison.Ordinal), "the pickup notice");
        var parsed = Parse(notice);
        var match = LinkPattern().Match(parsed.TextBody ?? "");
        Assert.That(match.Success, Is.True, "the notice carries a pickup link");
        var token = match.Groups["token"].Value;
        var package = await Store.FindByTokenAsync(token, CancellationToken.None);
        Assert.That(package, Is.Not.Null, "the link opens a package");
        return new PickupDelivery(notice, parsed, match.Value, token, package!.PackageId);
    }

    /// <summary>The code from the <paramref name="nth"/> code mail (1 first) to <paramref name="recipient"/>.</summary>
    public async Task<string> WaitForCodeAsync(string recipient, int nth = 1)
    {
        var mail = await WaitForAsync(recipient, m => (m.Subject ?? "").StartsWith("Your code", StringComparison.Ordinal), "a code mail", nth);
        var match = Regex.Match(Parse(mail).TextBody ?? "", @"Your code is: (\d{6})");
        Assert.That(match.Success, Is.True, "the code mail carries a six-digit code");
        return match.Groups[1].Value;
    }

    public int CodeMailCount(string recipient) =>
        Upstream.Messages.Count(m => m.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase) && (Parse(m).Subject ?? "").StartsWith("Your code", StringComparison.Ordinal));

    private async Task<ReceivedMessage> WaitForAsync(string recipient, Func<MimeMessage, bool> what, string description, int nth = 1)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var found = Upstream.Messages.Where(m => m.Recipients.Contains(recipient, StringComparer.OrdinalIgnoreCase) && what(Parse(m))).ToList();
            if (found.Count >= nth) return found[nth - 1];
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"No {description} for {recipient} arrived at the upstream.");
            await Task.Delay(25);
        }
    }

    /// <summary>The message as a mail client sends it: CRLF line ends.</summary>
    public static byte[] Wire(MimeMessage message)
    {
        using var s = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, s);
        return s.ToArray();
    }

    public static MimeMessage Parse(ReceivedMessage m) => MimeMessage.Load(new MemoryStream(m.Data));

    public async Task<T> QueryAsync<T>(string sql, object? args = null)
    {
        await using var c = await Gateway.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return await c.ExecuteScalarAsync<T>(sql, args) ?? default!;
    }

    /// <summary>An HTTP client like a browser's: keeps cookies, does not follow redirects (tests look at them).</summary>
    public HttpClient Client(CookieContainer? cookies = null) =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = cookies ?? new CookieContainer() })
        {
            BaseAddress = new Uri(BaseUrl),
            Timeout = TimeSpan.FromSeconds(30),
        };

    /// <summary>GETs a page with a form and POSTs it back with its anti-forgery token and <paramref name="fields"/>.</summary>
    public static async Task<HttpResponseMessage> SubmitFormAsync(HttpClient client, string pageUrl, string action, params (string Name, string Value)[] fields)
    {
        var page = await client.GetStringAsync(pageUrl);
        var token = AntiforgeryField().Match(page);
        Assert.That(token.Success, Is.True, $"the page {pageUrl} has an anti-forgery field");
        var form = new List<KeyValuePair<string, string>> { new("__af", WebUtility.HtmlDecode(token.Groups[1].Value)) };
        form.AddRange(fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)));
        return await client.PostAsync(action, new FormUrlEncodedContent(form));
    }

    /// <summary>Asks for a code and enters it: the client is signed in afterwards.</summary>
    public async Task SignInAsync(HttpClient client, PickupDelivery delivery, string recipient)
    {
        var before = CodeMailCount(recipient);
        var sent = await SubmitFormAsync(client, $"/p/{delivery.Token}", $"/p/{delivery.Token}/code");
        Assert.That(sent.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), "asking for a code redirects to the code form");
        var code = await WaitForCodeAsync(recipient, before + 1);
        var verified = await SubmitFormAsync(client, $"/p/{delivery.Token}/verify", $"/p/{delivery.Token}/verify", ("code", code));
        Assert.That(verified.StatusCode, Is.EqualTo(HttpStatusCode.SeeOther), "the right code signs in");
        Assert.That(verified.Headers.Location?.ToString(), Is.EqualTo($"/p/{delivery.Token}/files"));
    }

    public static string Text(ReceivedMessage m) => Encoding.UTF8.GetString(m.Data);

    [GeneratedRegex(@"https?://[^\s/]+/p/(?<token>[A-Za-z0-9_-]{43})")]
    private static partial Regex LinkPattern();

    [GeneratedRegex("name=\"__af\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Upstream.DisposeAsync();
    }
}
