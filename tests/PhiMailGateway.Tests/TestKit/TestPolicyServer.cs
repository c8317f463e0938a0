using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A real HTTPS server (Kestrel) on 127.0.0.1 for the MTA-STS policy hosts of test domains: each
/// <c>mta-sts.&lt;domain&gt;</c> gets a certificate from the test CA chosen by SNI, and answers
/// <c>/.well-known/mta-sts.txt</c> as the test says (a policy, another content type, a status, a redirect).
/// <code>
/// await using var policies = await TestPolicyServer.StartAsync();
/// policies.Serve("sts.test", "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n");
/// dns.A("mta-sts.sts.test", "127.0.0.1").Txt("_mta-sts.sts.test", "v=STSv1; id=1");   // Direct:PolicyPort = policies.Port
/// </code>
/// </summary>
public sealed class TestPolicyServer : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Answer> _answers = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, X509Certificate2> _certificates = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _fetches = new(StringComparer.OrdinalIgnoreCase);
    private WebApplication _app = null!;

    public int Port { get; private set; }

    private sealed record Answer(string Body, string ContentType, int Status, string? RedirectTo);

    public static async Task<TestPolicyServer> StartAsync()
    {
        var server = new TestPolicyServer { Port = TestGateway.GetFreePort() };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, server.Port, listen => listen.UseHttps(https =>
            https.ServerCertificateSelector = (_, name) => name is null ? null : server._certificates.GetValueOrDefault(name))));
        server._app = builder.Build();
        server._app.Run(server.AnswerAsync);
        await server._app.StartAsync();
        return server;
    }

    /// <summary>What <c>https://mta-sts.{domain}/.well-known/mta-sts.txt</c> answers.</summary>
    public TestPolicyServer Serve(string domain, string body, string contentType = "text/plain", int status = 200, string? redirectTo = null)
    {
        var host = "mta-sts." + domain;
        _certificates.GetOrAdd(host, h => TestCertificates.CreateServer(TestCertificates.Ca, h));
        _answers[host] = new Answer(body, contentType, status, redirectTo);
        return this;
    }

    /// <summary>How many times the domain's policy was fetched.</summary>
    public int Fetches(string domain) => _fetches.GetValueOrDefault("mta-sts." + domain);

    private async Task AnswerAsync(HttpContext context)
    {
        var host = context.Request.Host.Host;
        _fetches.AddOrUpdate(host, 1, (_, n) => n + 1);
        if (context.Request.Path != "/.well-known/mta-sts.txt" || !_answers.TryGetValue(host, out var answer))
        {
            context.Response.StatusCode = 404;
            return;
        }
        context.Response.StatusCode = answer.Status;
        if (answer.RedirectTo is { } location) context.Response.Headers.Location = location;
        context.Response.ContentType = answer.ContentType;
        await context.Response.WriteAsync(answer.Body);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        foreach (var certificate in _certificates.Values) certificate.Dispose();
    }
}
