using System.Globalization;
using System.Net;
using Microsoft.Extensions.Options;

namespace PhiMailGateway.Direct;

/// <summary>
/// Section <c>Direct</c>: delivery of <c>TlsFirst</c> copies straight to the recipient domain's MX,
/// only over TLS that DANE, MTA-STS or (when allowed) PKIX verifies; anything else takes the rule's
/// fallback. Off by default: until IT has published SPF, DKIM and DMARC for direct delivery, every
/// copy keeps going to the smarthost.
/// </summary>
public sealed record DirectOptions
{
    public const string Section = "Direct";

    public bool Enabled { get; init; }

    /// <summary>
    /// <c>host:port</c> of the DNS server that answers every lookup of direct delivery (MX, addresses,
    /// TLSA, the MTA-STS TXT and policy host); empty: the system's resolvers.
    /// </summary>
    public string? Resolver { get; init; }

    /// <summary>
    /// The resolver validates DNSSEC itself (unbound on this host, say), so its AD bit can be trusted;
    /// without this, DANE is never used, since an unvalidated AD bit is anyone's to set (Postfix's rule).
    /// </summary>
    public bool ResolverValidatesDnssec { get; init; }

    /// <summary>The port every MX is reached on (25; tests use others).</summary>
    public int SmtpPort { get; init; } = 25;

    /// <summary>EHLO name towards recipients' servers; empty: <c>Gateway:HostName</c>.</summary>
    public string? HeloName { get; init; }

    /// <summary>With no DANE and no enforced MTA-STS, a certificate valid for the MX name still counts as verified.</summary>
    public bool AcceptPkix { get; init; } = true;

    /// <summary>Exact domains whose copies always take the fallback, added to <see cref="DefaultTlsPreventDomains"/>.</summary>
    public string[] TlsPreventDomains { get; init; } = [];

    /// <summary>PEM files of extra roots trusted for MX certificates and MTA-STS policy hosts (private CAs, tests).</summary>
    public string[] TrustRoots { get; init; } = [];

    /// <summary>Per DNS query; a lookup that times out defers the copy.</summary>
    public TimeSpan DnsTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Per SMTP command towards a recipient's server.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a domain's <c>_mta-sts</c> TXT record is asked again for a new policy id.</summary>
    public TimeSpan PolicyRefreshInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Bounds on how long a fetched MTA-STS policy is kept, whatever its max_age says: at least the
    /// minimum (a max_age of seconds would mean a fetch per copy), at most the maximum (RFC 8461's
    /// cap is about a year).
    /// </summary>
    public TimeSpan PolicyMinLifetime { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan PolicyMaxLifetime { get; init; } = MtaStsPolicy.LongestMaxAge;

    /// <summary>The HTTPS port of every <c>mta-sts.&lt;domain&gt;</c> policy host (443; tests use others).</summary>
    public int PolicyPort { get; init; } = 443;

    /// <summary>A copy whose lookups keep failing (DNS timeouts, no MX answering) this long takes its fallback instead of waiting on.</summary>
    public TimeSpan FallbackAfter { get; init; } = TimeSpan.FromHours(4);

    /// <summary>Section <c>Direct:Dkim</c>: the key directly delivered mail is signed with; unset, it goes out unsigned.</summary>
    public DirectDkimOptions Dkim { get; init; } = new();

    /// <summary>
    /// Public webmail: mail to these is read on phones and in browsers whose onward handling the
    /// practice cannot see, so their copies take the pickup page whatever their TLS (Zix's rule).
    /// </summary>
    public static readonly string[] DefaultTlsPreventDomains =
    [
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "mail.com",
        "zoho.com", "yandex.com", "comcast.net", "att.net", "verizon.net",
    ];

    /// <summary>Whether copies to <paramref name="domain"/> always take the fallback.</summary>
    public bool IsTlsPrevented(string domain) =>
        DefaultTlsPreventDomains.Contains(domain, StringComparer.OrdinalIgnoreCase)
        || TlsPreventDomains.Any(d => string.Equals(d.Trim().TrimEnd('.'), domain, StringComparison.OrdinalIgnoreCase));

    /// <summary>The parsed <see cref="Resolver"/>, or null for the system's; validation guarantees it parses.</summary>
    public IPEndPoint? ResolverEndPoint => ParseResolver(Resolver);

    public static IPEndPoint? ParseResolver(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (IPEndPoint.TryParse(value.Trim(), out var endPoint) && endPoint.Port != 0) return endPoint;
        if (IPAddress.TryParse(value.Trim(), out var address)) return new IPEndPoint(address, 53);
        return null;
    }
}

public sealed class DirectOptionsValidator : IValidateOptions<DirectOptions>
{
    public ValidateOptionsResult Validate(string? name, DirectOptions o)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(o.Resolver) && DirectOptions.ParseResolver(o.Resolver) is null)
            errors.Add($"Direct:Resolver: must be an IP address with an optional port, such as 127.0.0.1:53 or [::1]:53 (got '{o.Resolver}').");
        if (o.SmtpPort is < 1 or > 65535) errors.Add($"Direct:SmtpPort: must be between 1 and 65535 (got {o.SmtpPort}).");
        if (o.PolicyPort is < 1 or > 65535) errors.Add($"Direct:PolicyPort: must be between 1 and 65535 (got {o.PolicyPort}).");
        if (o.PolicyMinLifetime < TimeSpan.Zero || o.PolicyMinLifetime > TimeSpan.FromDays(1))
            errors.Add($"Direct:PolicyMinLifetime: must be between 00:00:00 and 1.00:00:00 (got {o.PolicyMinLifetime.ToString("c", CultureInfo.InvariantCulture)}).");
        if (o.PolicyMaxLifetime < o.PolicyMinLifetime || o.PolicyMaxLifetime > MtaStsPolicy.LongestMaxAge)
            errors.Add($"Direct:PolicyMaxLifetime: must be at least Direct:PolicyMinLifetime and at most {MtaStsPolicy.LongestMaxAge.ToString("c", CultureInfo.InvariantCulture)} (got {o.PolicyMaxLifetime.ToString("c", CultureInfo.InvariantCulture)}).");
        if (o.PolicyRefreshInterval < TimeSpan.FromMinutes(1) || o.PolicyRefreshInterval > TimeSpan.FromDays(1))
            errors.Add($"Direct:PolicyRefreshInterval: must be between 00:01:00 and 1.00:00:00 (got {o.PolicyRefreshInterval.ToString("c", CultureInfo.InvariantCulture)}).");
        if (!string.IsNullOrWhiteSpace(o.HeloName) && Uri.CheckHostName(o.HeloName.Trim()) != UriHostNameType.Dns)
            errors.Add($"Direct:HeloName: must be a host name (got '{o.HeloName}').");
        foreach (var (domain, i) in o.TlsPreventDomains.Select((d, i) => (d, i)))
        {
            if (Uri.CheckHostName(domain?.Trim().TrimEnd('.')) != UriHostNameType.Dns)
                errors.Add($"Direct:TlsPreventDomains:{i}: must be a domain (got '{domain}').");
        }
        foreach (var (path, i) in o.TrustRoots.Select((p, i) => (p, i)))
        {
            if (string.IsNullOrWhiteSpace(path) || !File.Exists(path))
                errors.Add($"Direct:TrustRoots:{i}: file not found ('{path}').");
        }
        if (o.DnsTimeout <= TimeSpan.Zero || o.DnsTimeout > TimeSpan.FromMinutes(2))
            errors.Add($"Direct:DnsTimeout: must be more than zero and at most 00:02:00 (got {o.DnsTimeout.ToString("c", CultureInfo.InvariantCulture)}).");
        if (o.Timeout <= TimeSpan.Zero || o.Timeout > TimeSpan.FromMinutes(10))
            errors.Add($"Direct:Timeout: must be more than zero and at most 00:10:00 (got {o.Timeout.ToString("c", CultureInfo.InvariantCulture)}).");
        if (o.FallbackAfter < TimeSpan.Zero || o.FallbackAfter > TimeSpan.FromDays(5))
            errors.Add($"Direct:FallbackAfter: must be between 00:00:00 and 5.00:00:00 (got {o.FallbackAfter.ToString("c", CultureInfo.InvariantCulture)}).");
        errors.AddRange(o.Dkim.Validate());
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
