using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Guard;
using PhiMailGateway.PickupWeb;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.GuardWeb;

/// <summary>
/// The sender's page <c>/g/{token}</c> on the pickup listener, one per message. A GET only shows
/// (mail scanners open links); "Send anyway", "Don't send", "Recall" and "Revoke" are POSTs with
/// anti-forgery. The token is 256 random bits, looked up by its SHA-256, and each form names a
/// held copy, a copy or a package that must belong to the link's message.
/// </summary>
public sealed partial class GuardEndpoints(IGuardHolds holds, GuardDecisions decisions, SenderActions actions, IAntiforgery antiforgery, GuardPages pages,
    TimeProvider time, ILogger<GuardEndpoints> logger)
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/g/{token}", (HttpContext c, string token) => E(c).ShowAsync(c, token));
        app.MapPost("/g/{token}/send", (HttpContext c, string token) => E(c).DecideAsync(c, token, send: true));
        app.MapPost("/g/{token}/cancel", (HttpContext c, string token) => E(c).DecideAsync(c, token, send: false));
        app.MapPost("/g/{token}/recall", (HttpContext c, string token) => E(c).RecallOrRevokeAsync(c, token, recall: true));
        app.MapPost("/g/{token}/revoke", (HttpContext c, string token) => E(c).RecallOrRevokeAsync(c, token, recall: false));
    }

    private static GuardEndpoints E(HttpContext c) => c.RequestServices.GetRequiredService<GuardEndpoints>();

    private async Task ShowAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } view) return;
        var af = antiforgery.GetAndStoreTokens(c);
        var done = c.Request.Query["done"].ToString();
        await PickupEndpoints.Html(c, 200, pages.Sender(view, token, af.FormFieldName, af.RequestToken!, time.GetUtcNow(), done));
    }

    private async Task DecideAsync(HttpContext c, string token, bool send)
    {
        if (await FormAsync(c, token) is not var (view, form)) return;
        var hold = view.Holds.FirstOrDefault(h => h.HoldId == form["hold"].ToString());
        if (hold is null)
        {
            await PickupEndpoints.Html(c, 404, pages.NotFound());
            return;
        }
        var decided = send
            ? await decisions.ReleaseAsync(hold, "sender", form["reason"].ToString(), OriginOf(c), CancellationToken.None)
            : await decisions.CancelAsync(hold, "sender", null, OriginOf(c), CancellationToken.None);
        if (decided) LogDecided(logger, hold.HoldId, send ? "send anyway" : "don't send");
        SeeOther(c, token, !decided ? "late" : send ? "sent" : "cancelled");
    }

    private async Task RecallOrRevokeAsync(HttpContext c, string token, bool recall)
    {
        if (await FormAsync(c, token) is not var (view, form)) return;
        var id = form[recall ? "delivery" : "package"].ToString();
        var known = recall ? view.Copies.Any(d => d.DeliveryId == id) : view.Packages.Any(p => p.PackageId == id);
        if (!known)
        {
            await PickupEndpoints.Html(c, 404, pages.NotFound());
            return;
        }
        var done = recall
            ? await actions.RecallAsync(view, id, OriginOf(c), CancellationToken.None)
            : await actions.RevokeAsync(view, id, OriginOf(c), CancellationToken.None);
        if (done) LogDecided(logger, id, recall ? "recall" : "revoke");
        SeeOther(c, token, !done ? "late" : recall ? "recalled" : "revoked");
    }

    /// <summary>The page's message and the posted form, once the anti-forgery token checked out; null when a page was written instead.</summary>
    private async Task<(SenderView View, IFormCollection Form)?> FormAsync(HttpContext c, string token)
    {
        if (!(c.Request.HasFormContentType && await antiforgery.IsRequestValidAsync(c)))
        {
            LogAntiforgery(logger, c.Connection.RemoteIpAddress?.ToString());
            await PickupEndpoints.Html(c, 400, pages.FormExpired(token));
            return null;
        }
        if (await ResolveAsync(c, token) is not { } view) return null;
        return (view, await c.Request.ReadFormAsync(c.RequestAborted));
    }

    private static Origin OriginOf(HttpContext c)
    {
        var agent = c.Request.Headers.UserAgent.ToString();
        return new Origin(c.Connection.RemoteIpAddress?.ToString(), agent.Length > 512 ? agent[..512] : agent);
    }

    private static void SeeOther(HttpContext c, string token, string done)
    {
        c.Response.Redirect($"/g/{token}?done={done}");
        c.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    private async Task<SenderView?> ResolveAsync(HttpContext c, string token)
    {
        var queueId = PickupSecrets.LooksLikeToken(token)
            ? await holds.LinkedMessageAsync(PickupSecrets.Hash(token), time.GetUtcNow(), c.RequestAborted)
            : null;
        if (queueId is not null) return await holds.SenderViewAsync(queueId, c.RequestAborted);
        LogUnknownToken(logger, c.Connection.RemoteIpAddress?.ToString());
        await PickupEndpoints.Html(c, 404, pages.NotFound());
        return null;
    }

    [LoggerMessage(EventId = 7501, Level = LogLevel.Information, Message = "{ItemId}: the sender chose {Decision} on the sender's page")]
    private static partial void LogDecided(ILogger logger, string itemId, string decision);

    [LoggerMessage(EventId = 7502, Level = LogLevel.Warning, Message = "Sender's page: unknown or malformed link from {ClientAddress}")]
    private static partial void LogUnknownToken(ILogger logger, string? clientAddress);

    [LoggerMessage(EventId = 7503, Level = LogLevel.Warning, Message = "Sender's page: form without a valid anti-forgery token from {ClientAddress}")]
    private static partial void LogAntiforgery(ILogger logger, string? clientAddress);
}
