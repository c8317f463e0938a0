using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;

using PhiMailGateway.Hosting;

namespace PhiMailGateway.PickupWeb;

/// <summary>
/// Runs the recipient's page inside the <c>serve</c> process, as its own small Kestrel application
/// on <c>Pickup:Address</c>:<c>Pickup:Port</c>. Its container gets only what the page needs from
/// the gateway (the package store, the code mailer that queues mail, the audit trail, the clock):
/// no relay transport, no credentials, no S/MIME keys are reachable from a request.
/// </summary>
public sealed partial class PickupWebHost(IServiceProvider gateway, PickupOptions options, ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Forms only: a code and a token.
        var builder = EmbeddedWebApp.CreateBuilder(loggers, IPAddress.Parse(options.Address), options.Port, maxRequestBodyBytes: 16 * 1024);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(gateway.GetRequiredService<PickupPackageStore>());
        builder.Services.AddSingleton(gateway.GetRequiredService<IPickupCodes>());
        builder.Services.AddSingleton(gateway.GetRequiredService<IPickupSessions>());
        builder.Services.AddSingleton(gateway.GetRequiredService<PickupCodeMailer>());
        builder.Services.AddSingleton(gateway.GetRequiredService<IAuditTrail>());
        builder.Services.AddSingleton(gateway.GetRequiredService<TimeProvider>());
        builder.Services.AddSingleton(gateway.GetRequiredService<Health.HealthReport>());
        builder.Services.AddSingleton<PickupPages>();
        builder.Services.AddSingleton<PickupEndpoints>();
        // The sender's address-check page for copies the guard held shares this listener.
        builder.Services.AddSingleton(gateway.GetRequiredService<Guard.IGuardHolds>());
        builder.Services.AddSingleton(gateway.GetRequiredService<Guard.GuardDecisions>());
        builder.Services.AddSingleton(gateway.GetRequiredService<Guard.SenderActions>());
        builder.Services.AddSingleton<GuardWeb.GuardPages>();
        builder.Services.AddSingleton<GuardWeb.GuardEndpoints>();

        // Anti-forgery only protects forms for minutes: keys live in memory, no key files on disk.
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "pickup_af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.HttpOnly = true;
            o.Cookie.SecurePolicy = options.IsHttps ? Microsoft.AspNetCore.Http.CookieSecurePolicy.Always : Microsoft.AspNetCore.Http.CookieSecurePolicy.SameAsRequest;
            o.FormFieldName = "__af";
            o.SuppressXFrameOptionsHeader = true; // we send DENY ourselves
        });
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(c => RateLimitPartition.GetFixedWindowLimiter(
                    c.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => Window(options.RequestsPerMinutePerAddress))),
                PartitionedRateLimiter.Create<HttpContext, string>(c => c.Request.RouteValues["token"] is string token
                    ? RateLimitPartition.GetFixedWindowLimiter(PickupSecrets.Hash(token), _ => Window(options.RequestsPerMinutePerPackage))
                    : RateLimitPartition.GetNoLimiter("")));
            o.OnRejected = async (context, _) =>
            {
                LogRateLimited(context.HttpContext.RequestServices.GetRequiredService<ILogger<PickupWebHost>>(), context.HttpContext.Connection.RemoteIpAddress?.ToString());
                await PickupEndpoints.Html(context.HttpContext, 429, context.HttpContext.RequestServices.GetRequiredService<PickupPages>().TooManyRequests());
            };
        });

        var app = builder.Build();
        app.Use(SecurityHeaders);
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            // A plain page, never a stack trace; the exception type and trace go to the log only.
            ExceptionHandler = c => PickupEndpoints.Html(c, 500, c.RequestServices.GetRequiredService<PickupPages>().Error()),
        });
        app.UseStatusCodePages(async context =>
        {
            var c = context.HttpContext;
            await PickupEndpoints.Html(c, c.Response.StatusCode, c.RequestServices.GetRequiredService<PickupPages>().Status(c.Response.StatusCode));
        });
        app.UseRouting();
        app.UseRateLimiter();
        PickupEndpoints.Map(app);
        GuardWeb.GuardEndpoints.Map(app);
        Health.HealthEndpoints.MapHealth(app); // DESIGN: GET /health on the pickup listener, no authentication
        await app.StartAsync(cancellationToken);
        _app = app;
        var logger = loggers.CreateLogger<PickupWebHost>();
        LogListening(logger, $"{options.Address}:{options.Port}");
        if (PickupBaseUrlValidator.RelaysToSmarthost(gateway.GetRequiredService<IConfiguration>())
            && PickupBaseUrlValidator.WhyRecipientsMayNotOpen(options.PublicBaseUrl) is { } why)
            LogLinksUnreachable(logger, options.PublicBaseUrl, why);
    }

    private static FixedWindowRateLimiterOptions Window(int permits) => new()
    {
        PermitLimit = permits,
        Window = TimeSpan.FromMinutes(1),
        QueueLimit = 0,
    };

    /// <summary>On every response, errors and the stylesheet included.</summary>
    private Task SecurityHeaders(HttpContext context, Func<Task> next)
    {
        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            h.ContentSecurityPolicy = "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h.CacheControl = "no-store";
            h.Pragma = "no-cache";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            h["Cross-Origin-Resource-Policy"] = "same-origin";
            h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), interest-cohort=()";
            if (context.Request.IsHttps || options.IsHttps) h.StrictTransportSecurity = "max-age=31536000";
            return Task.CompletedTask;
        });
        return next();
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null) await _app.StopAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    [LoggerMessage(EventId = 7201, Level = LogLevel.Information, Message = "Pickup page listening on {Endpoint}")]
    private static partial void LogListening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Warning, Message = "Pickup:BaseUrl {BaseUrl} {Why}: recipients outside this machine cannot open the pickup links (or would fetch them unencrypted); set Pickup:BaseUrl to the page's public https:// address")]
    private static partial void LogLinksUnreachable(ILogger logger, string baseUrl, string why);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Pickup page: request over the rate limit (client {ClientAddress})")]
    private static partial void LogRateLimited(ILogger logger, string? clientAddress);
}
