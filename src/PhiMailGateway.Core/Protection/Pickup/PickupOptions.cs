using System.Net;
using Microsoft.Extensions.Options;
using MimeKit;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>What a Pickup package holds: only the protected attachments, or the whole message.</summary>
public enum PickupScope
{
    Attachments,
    WholeMessage,
}

/// <summary>Section <c>Pickup</c>: the package store, the notice mail and the recipient's page.</summary>
public sealed record PickupOptions
{
    public const string Section = "Pickup";

    /// <summary>Where the pickup page listens.</summary>
    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 5080;

    /// <summary>Public URL put into links; defaults to <c>http://{Address}:{Port}</c> (http://127.0.0.1:5080).</summary>
    public string? BaseUrl { get; init; }

    public TimeSpan LinkLifetime { get; init; } = TimeSpan.FromDays(14);

    /// <summary>IANA zone (America/New_York) of the times on the pages and in the notices; the server's zone when unset.</summary>
    public string? TimeZone { get; init; }

    /// <summary>Formats times in <see cref="TimeZone"/> (UTC if it were unknown, which start-up refuses).</summary>
    public RecipientTime Times() => new(RecipientTime.FindZone(TimeZone) ?? TimeZoneInfo.Utc);

    /// <summary>Downloads allowed per file of a package (the zip of all counts one for each file).</summary>
    public int MaxDownloads { get; init; } = 10;

    public PickupScope Scope { get; init; } = PickupScope.Attachments;

    /// <summary>Shown on the page, in the notice and in the code mail.</summary>
    public string PracticeName { get; init; } = "Your dental practice";

    /// <summary>Phone or e-mail shown on "no longer available" pages; the sender's address when unset.</summary>
    public string? PracticeContact { get; init; }

    /// <summary>Sender of the one-time-code mail; defaults to <c>no-reply@{Gateway:HostName}</c>.</summary>
    public string? FromAddress { get; init; }

    public TimeSpan CodeLifetime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Codes one package may request per hour ("Email me a code" again).</summary>
    public int MaxCodesPerHour { get; init; } = 5;

    /// <summary>Wrong codes in a row before the package is locked for <see cref="Lockout"/>.</summary>
    public int MaxWrongCodes { get; init; } = 5;
    public TimeSpan Lockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>How long the recipient stays signed in after entering the code.</summary>
    public TimeSpan SessionLifetime { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Requests per minute from one client address, and for one package.</summary>
    public int RequestsPerMinutePerAddress { get; init; } = 120;
    public int RequestsPerMinutePerPackage { get; init; } = 60;

    /// <summary>How often the retention sweeper looks for expired or revoked packages.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromMinutes(5);

    public string PublicBaseUrl => (BaseUrl is { Length: > 0 } url ? url : $"http://{FormatHost(Address)}:{Port}").TrimEnd('/');

    public bool IsHttps => PublicBaseUrl.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static string FormatHost(string address) =>
        IPAddress.TryParse(address, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address;
}

public sealed class PickupOptionsValidator : IValidateOptions<PickupOptions>
{
    public ValidateOptionsResult Validate(string? name, PickupOptions o)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(o.Address, out var ip)) errors.Add($"Pickup:Address: '{o.Address}' is not an IP address.");
        if (o.Port is < 1 or > 65535) errors.Add($"Pickup:Port: must be between 1 and 65535 (got {o.Port}).");
        if (o.BaseUrl is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
                errors.Add($"Pickup:BaseUrl: '{url}' must be an absolute http:// or https:// URL without query, such as https://pickup.smiledental.example.");
        }
        else if (ip is not null && (ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
        {
            errors.Add("Pickup:BaseUrl: required when Pickup:Address listens on all interfaces; set the public URL recipients open.");
        }
        if (o.LinkLifetime <= TimeSpan.Zero || o.LinkLifetime > TimeSpan.FromDays(365))
            errors.Add($"Pickup:LinkLifetime: must be between 00:00:01 and 365.00:00:00 (got {o.LinkLifetime}).");
        if (o.TimeZone is { Length: > 0 } zoneId && RecipientTime.FindZone(zoneId) is not { HasIanaId: true })
            errors.Add($"Pickup:TimeZone: '{zoneId}' is not a known IANA time zone; use an id such as America/New_York or Europe/Berlin (empty means the server's zone).");
        if (o.MaxDownloads is < 1 or > 1000) errors.Add($"Pickup:MaxDownloads: must be between 1 and 1000 (got {o.MaxDownloads}).");
        if (!Enum.IsDefined(o.Scope)) errors.Add("Pickup:Scope: must be Attachments or WholeMessage.");
        if (string.IsNullOrWhiteSpace(o.PracticeName) || o.PracticeName.Length > 100)
            errors.Add("Pickup:PracticeName: must be between 1 and 100 characters.");
        if (o.PracticeContact is { Length: > 200 }) errors.Add("Pickup:PracticeContact: must be at most 200 characters.");
        if (o.FromAddress is { Length: > 0 } from && !(MailboxAddress.TryParse(from, out var mailbox) && mailbox.Address.Contains('@', StringComparison.Ordinal)))
            errors.Add($"Pickup:FromAddress: '{from}' is not an e-mail address.");
        if (o.CodeLifetime < TimeSpan.FromMinutes(1) || o.CodeLifetime > TimeSpan.FromHours(1))
            errors.Add($"Pickup:CodeLifetime: must be between 00:01:00 and 01:00:00 (got {o.CodeLifetime}).");
        if (o.MaxCodesPerHour is < 1 or > 100) errors.Add($"Pickup:MaxCodesPerHour: must be between 1 and 100 (got {o.MaxCodesPerHour}).");
        if (o.MaxWrongCodes is < 1 or > 20) errors.Add($"Pickup:MaxWrongCodes: must be between 1 and 20 (got {o.MaxWrongCodes}).");
        if (o.Lockout <= TimeSpan.Zero) errors.Add("Pickup:Lockout: must be positive.");
        if (o.SessionLifetime < TimeSpan.FromMinutes(1) || o.SessionLifetime > TimeSpan.FromHours(12))
            errors.Add($"Pickup:SessionLifetime: must be between 00:01:00 and 12:00:00 (got {o.SessionLifetime}).");
        if (o.RequestsPerMinutePerAddress < 1) errors.Add("Pickup:RequestsPerMinutePerAddress: must be at least 1.");
        if (o.RequestsPerMinutePerPackage < 1) errors.Add("Pickup:RequestsPerMinutePerPackage: must be at least 1.");
        if (o.SweepInterval <= TimeSpan.Zero) errors.Add("Pickup:SweepInterval: must be positive.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>
/// Pickup links must reach recipients: once mail really leaves (Relay:Mode=Smtp), the built-in
/// default URL (the listener's own loopback address) would go out in every notice and open
/// nowhere but on this machine, so Pickup:BaseUrl becomes required. Reads Relay:Mode from the raw
/// configuration so that a bad Relay section is reported once, by its own validator.
/// </summary>
public sealed class PickupBaseUrlValidator(Microsoft.Extensions.Configuration.IConfiguration configuration) : IValidateOptions<PickupOptions>
{
    public ValidateOptionsResult Validate(string? name, PickupOptions o)
    {
        if (o.BaseUrl is { Length: > 0 } || !RelaysToSmarthost(configuration)) return ValidateOptionsResult.Success;
        return ValidateOptionsResult.Fail(
            "Pickup:BaseUrl: required when Relay:Mode is Smtp; set the public URL recipients open (e.g. https://pickup.smiledental.example), or the links would point at this machine.");
    }

    public static bool RelaysToSmarthost(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        string.Equals(configuration["Relay:Mode"]?.Trim(), "Smtp", StringComparison.OrdinalIgnoreCase);

    /// <summary>A link only this machine (or nobody) can open, or one sent in the clear; null when the URL is fine.</summary>
    public static string? WhyRecipientsMayNotOpen(string publicBaseUrl)
    {
        if (!Uri.TryCreate(publicBaseUrl, UriKind.Absolute, out var uri)) return null;
        if (uri.IsLoopback || IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && (IPAddress.IsLoopback(ip) || ip.Equals(IPAddress.Any) || ip.Equals(IPAddress.IPv6Any)))
            return "points at this machine";
        return uri.Scheme == Uri.UriSchemeHttp ? "is plain http" : null;
    }
}
