using System.IO.Compression;
using System.Net.Http.Headers;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.PickupWeb;

/// <summary>
/// The routes of the pickup page. Only POSTs change state, and every POST carries an anti-forgery
/// token: mail scanners open every link with GET, so a GET never sends a code, uses up a code or
/// counts as a verification. Downloads are GETs, but only with a verified session.
/// </summary>
public sealed partial class PickupEndpoints(
    PickupPackageStore store,
    IPickupCodes codes,
    IPickupSessions sessions,
    PickupCodeMailer mailer,
    IAuditTrail audit,
    IAntiforgery antiforgery,
    PickupPages pages,
    PickupOptions options,
    TimeProvider time,
    ILogger<PickupEndpoints> logger)
{
    public const string SessionCookie = "pickup_session";

    public static void Map(WebApplication app)
    {
        app.MapGet("/", (HttpContext c) => Html(c, 200, c.RequestServices.GetRequiredService<PickupPages>().Home()));
        app.MapGet("/static/site.css", StaticCss);
        app.MapGet("/favicon.ico", (HttpContext c) => { c.Response.StatusCode = StatusCodes.Status204NoContent; return Task.CompletedTask; });
        app.MapGet("/p/{token}", (HttpContext c, string token) => E(c).LandingAsync(c, token));
        app.MapPost("/p/{token}/code", (HttpContext c, string token) => E(c).SendCodeAsync(c, token));
        app.MapGet("/p/{token}/verify", (HttpContext c, string token) => E(c).VerifyFormAsync(c, token));
        app.MapPost("/p/{token}/verify", (HttpContext c, string token) => E(c).VerifyAsync(c, token));
        app.MapGet("/p/{token}/files", (HttpContext c, string token) => E(c).FilesAsync(c, token));
        app.MapGet("/p/{token}/files/{index:int}", (HttpContext c, string token, int index) => E(c).DownloadAsync(c, token, index, preview: false));
        app.MapGet("/p/{token}/files/{index:int}/preview", (HttpContext c, string token, int index) => E(c).DownloadAsync(c, token, index, preview: true));
        app.MapGet("/p/{token}/all.zip", (HttpContext c, string token) => E(c).ZipAsync(c, token));
    }

    private static PickupEndpoints E(HttpContext c) => c.RequestServices.GetRequiredService<PickupEndpoints>();

    private static readonly Lazy<byte[]> Css = new(() =>
    {
        using var s = typeof(PickupEndpoints).Assembly.GetManifestResourceStream("PhiMailGateway.PickupWeb.site.css")!;
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    });

    private static Task StaticCss(HttpContext c)
    {
        c.Response.ContentType = "text/css; charset=utf-8";
        c.Response.ContentLength = Css.Value.Length;
        return c.Response.Body.WriteAsync(Css.Value).AsTask();
    }

    internal static Task Html(HttpContext c, int status, string html)
    {
        c.Response.StatusCode = status;
        c.Response.ContentType = "text/html; charset=utf-8";
        return c.Response.WriteAsync(html);
    }

    // ------------------------------------------------------------------ pages

    private async Task LandingAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } package) return;
        if (package.IsLocked(time.GetUtcNow()))
        {
            await Html(c, 429, pages.Locked(DateTimeOffset.FromUnixTimeMilliseconds(package.LockedUntil!.Value)));
            return;
        }
        var af = antiforgery.GetAndStoreTokens(c);
        await Html(c, 200, pages.Landing(package, token, af.FormFieldName, af.RequestToken!));
    }

    private async Task SendCodeAsync(HttpContext c, string token)
    {
        if (!await ValidFormAsync(c, token)) return;
        if (await ResolveAsync(c, token) is not { } package) return;
        if (package.IsLocked(time.GetUtcNow()))
        {
            await Html(c, 429, pages.Locked(DateTimeOffset.FromUnixTimeMilliseconds(package.LockedUntil!.Value)));
            return;
        }
        var code = await codes.IssueCodeAsync(package.PackageId, c.RequestAborted);
        if (code is null)
        {
            LogCodeLimit(logger, package.PackageId);
            await Html(c, 429, pages.TooManyCodes(token));
            return;
        }
        if (!await mailer.SendAsync(package.Recipient, code, CancellationToken.None))
        {
            LogCodeNotQueued(logger, package.PackageId);
            await Html(c, 503, pages.CannotSend());
            return;
        }
        await AuditAsync(c, AuditEventTypes.PickupCodeSent, package, "one-time code e-mailed");
        LogCodeSent(logger, package.PackageId);
        c.Response.Redirect($"/p/{token}/verify?sent=1");
        c.Response.StatusCode = StatusCodes.Status303SeeOther;
    }

    private async Task VerifyFormAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } package) return;
        if (package.IsLocked(time.GetUtcNow()))
        {
            await Html(c, 429, pages.Locked(DateTimeOffset.FromUnixTimeMilliseconds(package.LockedUntil!.Value)));
            return;
        }
        var af = antiforgery.GetAndStoreTokens(c);
        await Html(c, 200, pages.Verify(package, token, af.FormFieldName, af.RequestToken!, null, c.Request.Query.ContainsKey("sent")));
    }

    private async Task VerifyAsync(HttpContext c, string token)
    {
        if (!await ValidFormAsync(c, token)) return;
        if (await ResolveAsync(c, token) is not { } package) return;
        var form = await c.Request.ReadFormAsync(c.RequestAborted);
        var code = PickupSecrets.NormalizeCode(form["code"].ToString());
        var af = antiforgery.GetAndStoreTokens(c);
        if (code is null && !package.IsLocked(time.GetUtcNow()))
        {
            // Not six digits: a typing slip, not a guess; it does not count as a wrong code.
            await Html(c, 400, pages.Verify(package, token, af.FormFieldName, af.RequestToken!, "Enter the 6 digits from the email.", false));
            return;
        }
        var result = await codes.CheckCodeAsync(package.PackageId, code, c.RequestAborted);
        switch (result.Outcome)
        {
            case CodeCheck.Accepted:
                var session = await sessions.CreateSessionAsync(package.PackageId, c.RequestAborted);
                c.Response.Cookies.Append(SessionCookie, session, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Secure = c.Request.IsHttps || options.IsHttps,
                    Path = $"/p/{token}",
                    MaxAge = options.SessionLifetime,
                    IsEssential = true,
                });
                await AuditAsync(c, AuditEventTypes.PickupVerified, package, "one-time code accepted");
                LogVerified(logger, package.PackageId);
                c.Response.Redirect($"/p/{token}/files");
                c.Response.StatusCode = StatusCodes.Status303SeeOther;
                return;
            case CodeCheck.Wrong:
                LogWrongCode(logger, package.PackageId, result.AttemptsLeft);
                await Html(c, 400, pages.Verify(package, token, af.FormFieldName, af.RequestToken!,
                    $"That code is not right, or it has expired. You can try {result.AttemptsLeft} more {(result.AttemptsLeft == 1 ? "time" : "times")}.", false));
                return;
            default:
                LogLocked(logger, package.PackageId, c.Connection.RemoteIpAddress?.ToString());
                await Html(c, 429, pages.Locked(result.LockedUntil!.Value));
                return;
        }
    }

    private async Task FilesAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } package) return;
        if (!await SignedInAsync(c, token, package)) return;
        var files = await store.FilesAsync(package, c.RequestAborted);
        var dicomPreviews = new HashSet<int>();
        foreach (var file in files.Where(f => f.IsDicom && f.Size <= DicomPreview.MaxFileBytes))
        {
            if (await CanRenderDicomAsync(package, file, c.RequestAborted)) dicomPreviews.Add(file.Index);
        }
        await AuditAsync(c, AuditEventTypes.PickupViewed, package, $"file list ({files.Count} files)");
        await Html(c, 200, pages.Files(package, token, files, dicomPreviews));
    }

    private async Task DownloadAsync(HttpContext c, string token, int index, bool preview)
    {
        if (await ResolveAsync(c, token) is not { } package) return;
        if (!await SignedInAsync(c, token, package)) return;
        var file = (await store.FilesAsync(package, c.RequestAborted)).FirstOrDefault(f => f.Index == index);
        if (file is null || (preview && !file.CanPreview && !file.IsDicom))
        {
            await Html(c, 404, pages.NotFound());
            return;
        }
        if (preview && !file.CanPreview)
        {
            await DicomPreviewAsync(c, package, file);
            return;
        }
        if (!preview && !await store.TryCountDownloadAsync(package.PackageId, [index], c.RequestAborted))
        {
            await GoneAsync(c, token);
            return;
        }
        // The record is written before the first byte leaves: no disclosure without its audit entry.
        await AuditAsync(c, preview ? AuditEventTypes.PickupViewed : AuditEventTypes.PickupDownloaded, package,
            preview ? "preview" : "download", file.Sha256);
        LogDownload(logger, package.PackageId, index, preview);
        await using var content = store.OpenFile(package, index);
        c.Response.StatusCode = 200;
        c.Response.ContentType = preview || file.CanPreview ? file.ContentType : "application/octet-stream";
        c.Response.ContentLength = content.Length;
        var disposition = new ContentDispositionHeaderValue(preview ? "inline" : "attachment");
        disposition.FileNameStar = file.Name;
        disposition.FileName = "\"" + AsciiName(file.Name) + "\"";
        c.Response.Headers.ContentDisposition = disposition.ToString();
        await content.CopyToAsync(c.Response.Body, c.RequestAborted);
    }

    private async Task ZipAsync(HttpContext c, string token)
    {
        if (await ResolveAsync(c, token) is not { } package) return;
        if (!await SignedInAsync(c, token, package)) return;
        var files = await store.FilesAsync(package, c.RequestAborted);
        if (files.Count == 0)
        {
            await Html(c, 404, pages.NotFound());
            return;
        }
        if (!await store.TryCountDownloadAsync(package.PackageId, files.Select(f => f.Index).ToList(), c.RequestAborted))
        {
            await GoneAsync(c, token);
            return;
        }
        foreach (var file in files)
            await AuditAsync(c, AuditEventTypes.PickupDownloaded, package, "download (zip of all)", file.Sha256);
        LogZip(logger, package.PackageId, files.Count);
        c.Response.StatusCode = 200;
        c.Response.ContentType = "application/zip";
        c.Response.Headers.ContentDisposition = "attachment; filename=\"secure-files.zip\"";
        // ZipArchive writes synchronously; it streams file by file, chunk by chunk, never the whole set.
        c.Features.Get<IHttpBodyControlFeature>()!.AllowSynchronousIO = true;
        using var zip = new ZipArchive(c.Response.Body, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var file in files)
        {
            var entry = zip.CreateEntry(file.Name, file.CanPreview ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
            await using var target = entry.Open();
            await using var source = store.OpenFile(package, file.Index);
            await source.CopyToAsync(target, c.RequestAborted);
        }
    }

    /// <summary>
    /// The rendered picture of a DICOM X-ray, under the verified session like every file (a mail
    /// scanner following links has no session and gets the landing page instead).
    /// </summary>
    private async Task DicomPreviewAsync(HttpContext c, PickupPackage package, PickupFile file)
    {
        PreviewImage? image = null;
        if (file.Size <= DicomPreview.MaxFileBytes)
        {
            var bytes = new byte[file.Size];
            await using (var content = store.OpenFile(package, file.Index))
                await content.ReadExactlyAsync(bytes, c.RequestAborted);
            image = DicomPreview.TryRender(bytes);
        }
        if (image is null)
        {
            await Html(c, 404, pages.NotFound());
            return;
        }
        await AuditAsync(c, AuditEventTypes.PickupViewed, package, "preview (rendered DICOM)", file.Sha256);
        LogDicomPreview(logger, package.PackageId, file.Index, image.Content.Length);
        c.Response.StatusCode = 200;
        c.Response.ContentType = image.ContentType;
        c.Response.ContentLength = image.Content.Length;
        c.Response.Headers.ContentDisposition = "inline";
        c.Response.Headers.CacheControl = "no-store";
        await c.Response.Body.WriteAsync(image.Content, c.RequestAborted);
    }

    /// <summary>Reads only the start of the file (the header up to the pixel data) to decide whether the page offers a preview.</summary>
    private async Task<bool> CanRenderDicomAsync(PickupPackage package, PickupFile file, CancellationToken cancellationToken)
    {
        var prefix = new byte[(int)Math.Min(file.Size, 256 * 1024)];
        await using var content = store.OpenFile(package, file.Index);
        await content.ReadExactlyAsync(prefix, cancellationToken);
        return DicomPreview.CanRender(prefix);
    }

    // ------------------------------------------------------------------ helpers

    /// <summary>The package for a token, or the 404/410 page already written.</summary>
    private async Task<PickupPackage?> ResolveAsync(HttpContext c, string token)
    {
        var package = await store.FindByTokenAsync(token, c.RequestAborted);
        if (package is null)
        {
            LogUnknownToken(logger, c.Connection.RemoteIpAddress?.ToString());
            await Html(c, 404, pages.NotFound());
            return null;
        }
        var availability = package.Availability(time.GetUtcNow());
        if (availability != PackageAvailability.Available)
        {
            await Html(c, 410, pages.Gone(package, availability));
            return null;
        }
        return package;
    }

    /// <summary>
    /// After a download was refused: the page says why. A package still available means this file
    /// (or, for the zip, one of them) has used its downloads while others have some left.
    /// </summary>
    private async Task GoneAsync(HttpContext c, string token)
    {
        var package = (await store.FindByTokenAsync(token, c.RequestAborted))!;
        var why = package.Availability(time.GetUtcNow());
        await Html(c, 410, why == PackageAvailability.Available ? pages.FileUsedUp(package, token) : pages.Gone(package, why));
    }

    private async Task<bool> SignedInAsync(HttpContext c, string token, PickupPackage package)
    {
        if (await sessions.IsSessionValidAsync(package.PackageId, c.Request.Cookies[SessionCookie], c.RequestAborted)) return true;
        c.Response.Redirect($"/p/{token}");
        c.Response.StatusCode = StatusCodes.Status303SeeOther;
        return false;
    }

    private async Task<bool> ValidFormAsync(HttpContext c, string token)
    {
        if (c.Request.HasFormContentType && await antiforgery.IsRequestValidAsync(c)) return true;
        LogAntiforgery(logger, c.Connection.RemoteIpAddress?.ToString());
        await Html(c, 400, pages.FormExpired(token));
        return false;
    }

    private Task AuditAsync(HttpContext c, string type, PickupPackage package, string detail, string? sha256 = null)
    {
        var agent = c.Request.Headers.UserAgent.ToString();
        return audit.AppendAsync(new AuditEvent(type, package.QueueId, null, package.Recipient, detail, package.PackageId,
            c.Connection.RemoteIpAddress?.ToString(), agent.Length > 512 ? agent[..512] : agent, sha256), CancellationToken.None);
    }

    private static string AsciiName(string name) =>
        new(name.Select(ch => ch is >= ' ' and < (char)127 and not '"' and not '\\' ? ch : '_').ToArray());

    [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Pickup {PackageId}: one-time code queued for the recipient")]
    private static partial void LogCodeSent(ILogger logger, string packageId);

    [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Pickup {PackageId}: code requested over the hourly limit")]
    private static partial void LogCodeLimit(ILogger logger, string packageId);

    [LoggerMessage(EventId = 7103, Level = LogLevel.Error, Message = "Pickup {PackageId}: the code mail could not be queued")]
    private static partial void LogCodeNotQueued(ILogger logger, string packageId);

    [LoggerMessage(EventId = 7104, Level = LogLevel.Information, Message = "Pickup {PackageId}: recipient verified")]
    private static partial void LogVerified(ILogger logger, string packageId);

    [LoggerMessage(EventId = 7105, Level = LogLevel.Warning, Message = "Pickup {PackageId}: wrong code, {AttemptsLeft} attempts left")]
    private static partial void LogWrongCode(ILogger logger, string packageId, int attemptsLeft);

    [LoggerMessage(EventId = 7106, Level = LogLevel.Warning, Message = "Pickup {PackageId}: locked after too many wrong codes (client {ClientAddress})")]
    private static partial void LogLocked(ILogger logger, string packageId, string? clientAddress);

    [LoggerMessage(EventId = 7107, Level = LogLevel.Information, Message = "Pickup {PackageId}: file {FileIndex} sent (preview: {Preview})")]
    private static partial void LogDownload(ILogger logger, string packageId, int fileIndex, bool preview);

    [LoggerMessage(EventId = 7108, Level = LogLevel.Information, Message = "Pickup {PackageId}: zip of {FileCount} files sent")]
    private static partial void LogZip(ILogger logger, string packageId, int fileCount);

    [LoggerMessage(EventId = 7109, Level = LogLevel.Information, Message = "Pickup: unknown link opened (client {ClientAddress})")]
    private static partial void LogUnknownToken(ILogger logger, string? clientAddress);

    [LoggerMessage(EventId = 7400, Level = LogLevel.Information, Message = "Pickup {PackageId}: preview of DICOM file {FileIndex} rendered ({Bytes} bytes)")]
    private static partial void LogDicomPreview(ILogger logger, string packageId, int fileIndex, int bytes);

    [LoggerMessage(EventId = 7110, Level = LogLevel.Warning, Message = "Pickup: form without a valid anti-forgery token refused (client {ClientAddress})")]
    private static partial void LogAntiforgery(ILogger logger, string? clientAddress);
}
