using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Guard;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.GuardWeb;

/// <summary>
/// The sender's page <c>/g/{token}</c> on the pickup listener. A GET only shows (mail scanners
/// open links); "Send anyway" and "Don't send" are POSTs with anti-forgery. The token is 256
/// random bits, looked up by its SHA-256, and each form names a hold that must belong to it.
/// </summary>
public sealed partial class GuardEndpoints(IGuardHolds holds, GuardDecisions decisions, IAntiforgery antiforgery, GuardPages pages, TimeProvider time,
    ILogger<GuardEndpoints> logger)
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/g/{token}", (HttpContext c, string token) => E(c).ShowAsync(c, token));
        app.MapPost("/g/{token}/send", (HttpContext c, string token) => E(c).DecideAsync(c, token, send: true));
        app.MapPost("/g/{token}/cancel", (HttpContext c, string token) => E(c).DecideAsync(c, token, send: false));
    }

    private static GuardEndpoints E(HttpContext c) => c.RequestServices.GetRequiredService<GuardEndpoints>();

    private async Task ShowAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } held) return;
        var af = antiforgery.GetAndStoreTokens(c);
        var done = c.Request.Query["done"].ToString();
        await PickupEndpoints.Html(c, 200, pages.Held(held, token, af.FormFieldName, af.RequestToken!, time.GetUtcNow(), done));
    }

    private async Task DecideAsync(HttpContext c, string token, bool send)
    {
        if (!(c.Request.HasFormContentType && await antiforgery.IsRequestValidAsync(c)))
        {
            LogAntiforgery(logger, c.Connection.RemoteIpAddress?.ToString());
            await PickupEndpoints.Html(c, 400, pages.FormExpired(token));
            return;
        }
        if (await ResolveAsync(c, token) is not { } held) return;
        var form = await c.Request.ReadFormAsync(c.RequestAborted);
        var hold = held.FirstOrDefault(h => h.HoldId == form["hold"].ToString());
        if (hold is null)
        {
            await PickupEndpoints.Html(c, 404, pages.NotFound());
            return;
        }
        var agent = c.Request.Headers.UserAgent.ToString();
        var origin = new Origin(c.Connection.RemoteIpAddress?.ToString(), agent.Length > 512 ? agent[..512] : agent);
        var decided = send
            ? await decisions.ReleaseAsync(hold, "sender", form["reason"].ToString(), origin, CancellationToken.None)
            : await decisions.CancelAsync(hold, "sender", null, origin, CancellationToken.None);
        if (decided) LogDecided(logger, hold.HoldId, send ? "send anyway" : "don't send");
        c.Response.Redirect($"/g/{token}?done={(!decided ? "late" : send ? "sent" : "cancelled")}");
        c.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    private async Task<IReadOnlyList<GuardHold>?> ResolveAsync(HttpContext c, string token)
    {
        var held = PickupSecrets.LooksLikeToken(token) ? await holds.ByTokenAsync(PickupSecrets.Hash(token), c.RequestAborted) : [];
        if (held.Count > 0) return held;
        LogUnknownToken(logger, c.Connection.RemoteIpAddress?.ToString());
        await PickupEndpoints.Html(c, 404, pages.NotFound());
        return null;
    }

    [LoggerMessage(EventId = 7501, Level = LogLevel.Information, Message = "{HoldId}: the sender chose {Decision} on the address-check page")]
    private static partial void LogDecided(ILogger logger, string holdId, string decision);

    [LoggerMessage(EventId = 7502, Level = LogLevel.Warning, Message = "Address-check page: unknown or malformed link from {ClientAddress}")]
    private static partial void LogUnknownToken(ILogger logger, string? clientAddress);

    [LoggerMessage(EventId = 7503, Level = LogLevel.Warning, Message = "Address-check page: form without a valid anti-forgery token from {ClientAddress}")]
    private static partial void LogAntiforgery(ILogger logger, string? clientAddress);
}
