using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Direct;

/// <summary>
/// The MTA-STS policy in force for a recipient domain (RFC 8461 3, 5). The <c>_mta-sts</c> TXT
/// record is asked at most once per <c>Direct:PolicyRefreshInterval</c> per domain; the policy is
/// fetched only when its id changed or it expired, over HTTPS that must verify (PKIX for
/// <c>mta-sts.&lt;domain&gt;</c>, no redirects, 200 with <c>text/plain</c>, at most 64 KiB), and is
/// kept in <see cref="IMtaStsPolicyStore"/>. A cached policy that has not expired stays in force
/// when the TXT record disappears or the fetch fails: an attacker who blocks DNS or the policy host
/// must not make the domain look as if it had no policy.
/// </summary>
public sealed partial class MtaStsPolicies : IDisposable
{
    public const int MaxPolicyBytes = 64 * 1024;

    private readonly DirectOptions _options;
    private readonly DnsLookup _dns;
    private readonly MxCertificateCheck _certificates;
    private readonly IMtaStsPolicyStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<MtaStsPolicies> _logger;
    private readonly HttpClient _http;
    // When each domain's TXT record was last asked for: within the refresh interval the stored policy answers.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _checkedAt = new(StringComparer.OrdinalIgnoreCase);

    public MtaStsPolicies(DirectOptions options, DnsLookup dns, MxCertificateCheck certificates, IMtaStsPolicyStore store, TimeProvider time, ILogger<MtaStsPolicies> logger)
    {
        _options = options;
        _dns = dns;
        _certificates = certificates;
        _store = store;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = options.Timeout,
            // The policy host's address comes from Direct:Resolver, as every lookup of direct delivery does.
            ConnectCallback = ConnectAsync,
            SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                RemoteCertificateValidationCallback = ValidatePolicyHost,
            },
        })
        {
            Timeout = options.Timeout,
        };
    }

    /// <summary>The policy in force for <paramref name="domain"/>, or null when it has none.</summary>
    public async Task<MtaStsPolicy?> GetAsync(string domain, CancellationToken cancellationToken)
    {
        domain = domain.Trim().TrimEnd('.').ToLowerInvariant();
        var now = _time.GetUtcNow();
        var stored = await _store.FindAsync(domain, cancellationToken);
        var current = stored is not null && !stored.IsExpired(now) ? stored : null;
        if (_checkedAt.TryGetValue(domain, out var at) && now - at < _options.PolicyRefreshInterval) return Effective(current);

        var txt = await _dns.TxtAsync("_mta-sts." + domain, cancellationToken);
        _checkedAt[domain] = now;
        var ids = txt.Records.Select(MtaStsPolicy.RecordId).OfType<string>().ToList();
        // RFC 8461 3.1: not exactly one STSv1 record is no record.
        if (ids.Count != 1) return Effective(current);
        if (current is not null && current.Id == ids[0]) return Effective(current);

        var fetched = await FetchAsync(domain, ids[0], now, cancellationToken);
        if (fetched is null) return Effective(current);
        await _store.SaveAsync(fetched, cancellationToken);
        LogPolicyLearned(_logger, fetched.Mode.ToString(), fetched.Mx.Count, (long)fetched.MaxAge.TotalSeconds);
        return Effective(fetched);
    }

    /// <summary>A policy in mode none is no policy (RFC 8461 5).</summary>
    private static MtaStsPolicy? Effective(MtaStsPolicy? policy) => policy is { Mode: MtaStsMode.None } ? null : policy;

    private async Task<MtaStsPolicy?> FetchAsync(string domain, string id, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var port = _options.PolicyPort == 443 ? "" : ":" + _options.PolicyPort;
        var url = new Uri($"https://mta-sts.{domain}{port}/.well-known/mta-sts.txt");
        try
        {
            using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (response.StatusCode != HttpStatusCode.OK) return Refused($"HTTP {(int)response.StatusCode}");
            if (response.Content.Headers.ContentType?.MediaType is not "text/plain") return Refused("not text/plain");
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            var buffer = new byte[MaxPolicyBytes + 1];
            var length = 0;
            int read;
            while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0) length += read;
            if (length > MaxPolicyBytes) return Refused("larger than 64 KiB");
            var policy = MtaStsPolicy.Parse(domain, id, Encoding.UTF8.GetString(buffer, 0, length), now, out var error);
            if (policy is null) return Refused(error!);
            return policy with { MaxAge = TimeSpan.FromTicks(Math.Clamp(policy.MaxAge.Ticks, _options.PolicyMinLifetime.Ticks, _options.PolicyMaxLifetime.Ticks)) };
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // A TLS failure comes as HttpRequestException; a timeout as TaskCanceledException.
            return Refused($"fetch failed ({e.GetType().Name})");
        }
    }

    private MtaStsPolicy? Refused(string reason)
    {
        LogPolicyRefused(_logger, reason);
        return null;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await _dns.AddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        if (addresses.Status != DnsStatus.Found) throw new HttpRequestException($"the policy host has no address ({addresses.Status})");
        SocketException? last = null;
        foreach (var address in addresses.Records)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, context.DnsEndPoint.Port), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException e)
            {
                socket.Dispose();
                last = e;
            }
        }
        throw new HttpRequestException("the policy host could not be reached", last);
    }

    private bool ValidatePolicyHost(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || sender is not SslStream stream) return false;
        var (leaf, presented) = MxCertificateCheck.Presented(certificate, chain);
        var verdict = _certificates.Pkix(leaf, presented, stream.TargetHostName);
        if (!verdict.IsValid) LogPolicyRefused(_logger, "policy host certificate: " + verdict.Failure);
        return verdict.IsValid;
    }

    public void Dispose() => _http.Dispose();

    // Ids 4350-4359. No domain names at Information: a recipient's domain can name a patient's provider.
    [LoggerMessage(EventId = 4350, Level = LogLevel.Information, Message = "MTA-STS policy learned: mode {Mode}, {MxCount} mx pattern(s), max_age {MaxAge} s")]
    private static partial void LogPolicyLearned(ILogger logger, string mode, int mxCount, long maxAge);

    [LoggerMessage(EventId = 4351, Level = LogLevel.Information, Message = "MTA-STS policy not taken: {Reason}; a cached unexpired policy stays in force")]
    private static partial void LogPolicyRefused(ILogger logger, string reason);
}
