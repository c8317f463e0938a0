using System.Net;
using Microsoft.Extensions.Options;

namespace PhiMailGateway.Configuration;

/// <summary>
/// Start-up checks for every options section. Each failure names the configuration key, so IT can
/// find the line to fix; a bad value stops start-up rather than surprising someone at 3 a.m.
/// </summary>
public sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions o)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(o.DataDirectory)) errors.Add("Gateway:DataDirectory: must not be empty.");
        for (var i = 0; i < o.Domains.Length; i++)
        {
            if (Uri.CheckHostName(o.Domains[i]) != UriHostNameType.Dns)
                errors.Add($"Gateway:Domains:{i}: '{o.Domains[i]}' is not a domain name.");
        }
        if (string.IsNullOrWhiteSpace(o.HostName)) errors.Add("Gateway:HostName: must not be empty.");
        // Stored with every lease and shown in logs: short, printable, no spaces.
        if (string.IsNullOrEmpty(o.NodeName) || o.NodeName.Length > 64 || !o.NodeName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            errors.Add($"Gateway:NodeName: must be 1 to 64 letters, digits, '-', '_' or '.' (got '{o.NodeName}').");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class SmtpOptionsValidator : IValidateOptions<SmtpOptions>
{
    public ValidateOptionsResult Validate(string? name, SmtpOptions o)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(o.Address, out _)) errors.Add($"Smtp:Address: '{o.Address}' is not an IP address.");
        if (o.Port is < 1 or > 65535) errors.Add($"Smtp:Port: must be between 1 and 65535 (got {o.Port}).");
        if (o.ImplicitTlsPort is { } tls && (tls is < 1 or > 65535 || tls == o.Port))
            errors.Add($"Smtp:ImplicitTlsPort: must be between 1 and 65535 and differ from Smtp:Port (got {tls}).");
        if (o.MaxMessageBytes is < 1024 or > int.MaxValue)
            errors.Add($"Smtp:MaxMessageBytes: must be between 1024 and {int.MaxValue} (got {o.MaxMessageBytes}).");
        if (o.CertificatePath is { Length: > 0 } cert && !File.Exists(cert))
            errors.Add($"Smtp:CertificatePath: file '{cert}' does not exist.");
        for (var i = 0; i < o.TrustedNetworks.Length; i++)
        {
            if (!IPNetwork.TryParse(o.TrustedNetworks[i], out _))
                errors.Add($"Smtp:TrustedNetworks:{i}: '{o.TrustedNetworks[i]}' is not a CIDR block such as 192.168.1.0/24.");
        }
        if (o.MaxAuthFailures < 1) errors.Add($"Smtp:MaxAuthFailures: must be at least 1 (got {o.MaxAuthFailures}).");
        if (o.AuthLockout < TimeSpan.Zero) errors.Add("Smtp:AuthLockout: must not be negative.");
        if (o.AuthFailureDelay < TimeSpan.Zero || o.AuthFailureDelay > TimeSpan.FromSeconds(30))
            errors.Add($"Smtp:AuthFailureDelay: must be between 00:00:00 and 00:00:30 (got {o.AuthFailureDelay}).");
        if (o.AuthCacheLifetime < TimeSpan.Zero || o.AuthCacheLifetime > TimeSpan.FromHours(24))
            errors.Add($"Smtp:AuthCacheLifetime: must be between 00:00:00 (off) and 1.00:00:00 (got {o.AuthCacheLifetime}).");
        if (o.SessionTimeout <= TimeSpan.Zero) errors.Add("Smtp:SessionTimeout: must be positive.");
        if (o.MaxSessions is < 1 or > 10_000) errors.Add($"Smtp:MaxSessions: must be between 1 and 10000 (got {o.MaxSessions}).");
        if (o.MaxSessionsPerAddress is < 1 or > 10_000)
            errors.Add($"Smtp:MaxSessionsPerAddress: must be between 1 and 10000 (got {o.MaxSessionsPerAddress}).");
        if (o.HandshakeTimeout <= TimeSpan.Zero || o.HandshakeTimeout > TimeSpan.FromMinutes(5))
            errors.Add($"Smtp:HandshakeTimeout: must be positive and at most 00:05:00 (got {o.HandshakeTimeout}).");
        if (o.UnauthenticatedTimeout <= TimeSpan.Zero || o.UnauthenticatedTimeout > TimeSpan.FromHours(1))
            errors.Add($"Smtp:UnauthenticatedTimeout: must be positive and at most 01:00:00 (got {o.UnauthenticatedTimeout}).");
        if (o.MaxRecipients is < 1 or > 100_000) errors.Add($"Smtp:MaxRecipients: must be between 1 and 100000 (got {o.MaxRecipients}).");
        if (o.MaxHeaderLineBytes is < 998 or > 16_777_216)
            errors.Add($"Smtp:MaxHeaderLineBytes: must be between 998 (RFC 5322) and 16777216 (got {o.MaxHeaderLineBytes}).");
        if (o.MaxHeaderFields is < 50 or > 1_000_000) errors.Add($"Smtp:MaxHeaderFields: must be between 50 and 1000000 (got {o.MaxHeaderFields}).");
        if (o.MaxAuthFailuresPerUser < o.MaxAuthFailures)
            errors.Add($"Smtp:MaxAuthFailuresPerUser: must be at least Smtp:MaxAuthFailures ({o.MaxAuthFailures}) (got {o.MaxAuthFailuresPerUser}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public sealed class RelayOptionsValidator : IValidateOptions<RelayOptions>
{
    public ValidateOptionsResult Validate(string? name, RelayOptions o)
    {
        var errors = new List<string>();
        if (o.Mode == RelayMode.Smtp && string.IsNullOrWhiteSpace(o.Host))
            errors.Add("Relay:Host: required when Relay:Mode is Smtp.");
        if (o.Port is < 1 or > 65535) errors.Add($"Relay:Port: must be between 1 and 65535 (got {o.Port}).");
        if (RelayOptions.ParseRetrySchedule(o.RetrySchedule) is null)
            errors.Add($"Relay:RetrySchedule: '{o.RetrySchedule}' is not a comma-separated list of positive TimeSpans such as 00:01:00,00:05:00.");
        if (o.MaxQueueLifetime <= TimeSpan.Zero) errors.Add("Relay:MaxQueueLifetime: must be positive.");
        if (o.Concurrency is < 1 or > 256) errors.Add($"Relay:Concurrency: must be between 1 and 256 (got {o.Concurrency}).");
        if (o.Timeout <= TimeSpan.Zero) errors.Add("Relay:Timeout: must be positive.");
        if (o.CertificateThumbprint is { Length: > 0 } tp && (tp.Replace(":", "", StringComparison.Ordinal).Length is not (40 or 64) || !tp.Replace(":", "", StringComparison.Ordinal).All(Uri.IsHexDigit)))
            errors.Add("Relay:CertificateThumbprint: must be a SHA-1 (40) or SHA-256 (64) hex thumbprint.");
        if (!string.IsNullOrEmpty(o.Username) && string.IsNullOrEmpty(o.Password))
            errors.Add("Relay:Password: required when Relay:Username is set; set it in the environment as Relay__Password.");
        if (o.Security == RelaySecurity.None && !string.IsNullOrEmpty(o.Password))
            errors.Add("Relay:Security: None would send Relay:Password in the clear; use StartTls or SslOnConnect.");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
