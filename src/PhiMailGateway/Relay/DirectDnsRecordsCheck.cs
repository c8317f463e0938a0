using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Direct;

namespace PhiMailGateway.Relay;

/// <summary>
/// With direct delivery on, mail leaves from this gateway's address under the practice's domains,
/// and recipients' servers judge it by the domain's SPF and DMARC records. Once at start-up, this
/// asks for them (through Direct:Resolver) for every Gateway:Domains entry and warns when one is
/// missing: a warning, never a refusal, since DNS may be out of reach at boot and the records may
/// be on their way. With DKIM keys configured, the selector's TXT record must carry this key's
/// public half (<c>p=</c>), or recipients' servers cannot check the signatures.
/// </summary>
public sealed partial class DirectDnsRecordsCheck(DirectOptions options, GatewayOptions gateway, DnsLookup dns, ILogger<DirectDnsRecordsCheck> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled) return;
        if (gateway.Domains.Length == 0) LogNoDomains(logger);
        foreach (var domain in gateway.Domains)
        {
            await CheckAsync(domain, domain, "v=spf1", "SPF", stoppingToken);
            await CheckAsync(domain, "_dmarc." + domain, "v=DMARC1", "DMARC", stoppingToken);
        }
        if (options.Dkim.IsConfigured) await CheckDkimAsync(options.Dkim, stoppingToken);
        LogChecked(logger, gateway.Domains.Length);
    }

    private async Task CheckDkimAsync(DirectDkimOptions dkim, CancellationToken cancellationToken)
    {
        var name = $"{dkim.NormalizedSelector}._domainkey.{dkim.NormalizedDomain}";
        var txt = await dns.TxtAsync(name, cancellationToken);
        if (txt.Status == DnsStatus.Failed)
        {
            LogNotChecked(logger, "DKIM", dkim.NormalizedDomain);
            return;
        }
        using var key = DkimKeyFile.Load(dkim.KeyPath!.Trim());
        var expected = Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        // Tags may come in any order and with spaces (RFC 6376 3.6.1); only p= is compared.
        var published = txt.Records.Select(r => r.Split(';').Select(t => t.Trim()).FirstOrDefault(t => t.StartsWith("p=", StringComparison.Ordinal)))
            .OfType<string>().Select(p => p[2..].Replace(" ", "", StringComparison.Ordinal)).ToList();
        if (published.Count == 0) LogMissing(logger, "DKIM", dkim.NormalizedDomain, name);
        else if (!published.Contains(expected, StringComparer.Ordinal)) LogDkimMismatch(logger, name);
    }

    private async Task CheckAsync(string domain, string name, string prefix, string kind, CancellationToken cancellationToken)
    {
        var txt = await dns.TxtAsync(name, cancellationToken);
        if (txt.Status == DnsStatus.Failed)
        {
            LogNotChecked(logger, kind, domain);
            return;
        }
        if (!txt.Records.Any(r => r.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))) LogMissing(logger, kind, domain, name);
    }

    // The practice's own domains and record names: configuration, not patient data.
    [LoggerMessage(EventId = 4360, Level = LogLevel.Warning, Message = "Direct delivery is on but {Domain} publishes no {Kind} record ({Name} TXT); recipients' servers may reject or junk its mail (README: Direct)")]
    private static partial void LogMissing(ILogger logger, string kind, string domain, string name);

    [LoggerMessage(EventId = 4361, Level = LogLevel.Warning, Message = "Direct delivery is on; the {Kind} record of {Domain} could not be looked up now (DNS failed), so it was not checked")]
    private static partial void LogNotChecked(ILogger logger, string kind, string domain);

    [LoggerMessage(EventId = 4364, Level = LogLevel.Warning, Message = "Direct delivery signs with a key whose public half is not the one {Name} TXT publishes; recipients' servers will find the signatures broken (dkim keygen prints the record)")]
    private static partial void LogDkimMismatch(ILogger logger, string name);

    [LoggerMessage(EventId = 4363, Level = LogLevel.Information, Message = "Direct delivery: the SPF and DMARC records of {Count} sending domain(s), and the DKIM record when keys are set, were checked")]
    private static partial void LogChecked(ILogger logger, int count);

    [LoggerMessage(EventId = 4362, Level = LogLevel.Warning, Message = "Direct delivery is on but Gateway:Domains is empty: the SPF and DMARC records of the sending domains were not checked")]
    private static partial void LogNoDomains(ILogger logger);
}
