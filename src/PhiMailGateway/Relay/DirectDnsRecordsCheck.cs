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
/// be on their way.
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
        LogChecked(logger, gateway.Domains.Length);
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

    [LoggerMessage(EventId = 4363, Level = LogLevel.Information, Message = "Direct delivery: the SPF and DMARC records of {Count} sending domain(s) were checked")]
    private static partial void LogChecked(ILogger logger, int count);

    [LoggerMessage(EventId = 4362, Level = LogLevel.Warning, Message = "Direct delivery is on but Gateway:Domains is empty: the SPF and DMARC records of the sending domains were not checked")]
    private static partial void LogNoDomains(ILogger logger);
}
