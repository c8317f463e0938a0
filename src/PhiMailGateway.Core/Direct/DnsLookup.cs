using System.Net;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace PhiMailGateway.Direct;

/// <summary>How a DNS question was answered.</summary>
public enum DnsStatus
{
    /// <summary>Records of the asked type.</summary>
    Found,

    /// <summary>The name exists but has none of the asked type.</summary>
    NoRecords,

    /// <summary>NXDOMAIN: the name does not exist.</summary>
    NoSuchName,

    /// <summary>No usable answer: a timeout, SERVFAIL (what a validating resolver says for a forged, "bogus" answer) or a refusal. Try again later.</summary>
    Failed,
}

/// <param name="Authenticated">The answer is DNSSEC-secure: the resolver set AD and is one IT said validates.</param>
public sealed record DnsAnswer<T>(DnsStatus Status, IReadOnlyList<T> Records, bool Authenticated);

public sealed record MxHost(string Name, int Preference);

/// <param name="Usage">0-3 (RFC 6698); DANE for SMTP uses 2 (DANE-TA) and 3 (DANE-EE).</param>
/// <param name="Selector">0 whole certificate, 1 its SubjectPublicKeyInfo.</param>
/// <param name="MatchingType">0 exact, 1 SHA-256, 2 SHA-512.</param>
public sealed record Tlsa(int Usage, int Selector, int MatchingType, byte[] Data);

/// <summary>
/// Every lookup of direct delivery, asked of <c>Direct:Resolver</c> (or the system's resolvers) with
/// the DNSSEC OK bit. The AD bit is only believed when IT said the resolver validates DNSSEC
/// (<c>Direct:ResolverValidatesDnssec</c>): this process does not check signatures itself.
/// </summary>
public sealed class DnsLookup
{
    private readonly DnsClient _client;
    private readonly bool _trustAd;
    private readonly TimeSpan _timeout;

    public DnsLookup(DirectOptions options)
    {
        var timeout = (int)Math.Clamp(options.DnsTimeout.TotalMilliseconds, 1, int.MaxValue);
        var servers = options.ResolverEndPoint is { } endPoint
            ? [endPoint]
            : DnsClient.GetLocalConfiguredDnsServers().Select(s => new IPEndPoint(s, 53)).ToArray();
        // Each server's port comes with its transports; every configured server here shares one.
        var port = servers.Length > 0 ? servers[0].Port : 53;
        _client = new DnsClient(servers.Select(s => s.Address), [new UdpClientTransport(port), new TcpClientTransport(port)], disposeTransport: true, queryTimeout: timeout);
        _trustAd = options.ResolverValidatesDnssec;
        _timeout = TimeSpan.FromMilliseconds(timeout);
    }

    public async Task<DnsAnswer<MxHost>> MxAsync(string domain, CancellationToken cancellationToken)
    {
        var (status, records, secure) = await AskAsync<MxRecord>(domain, RecordType.Mx, cancellationToken);
        return new(status, records.Select(r => new MxHost(r.ExchangeDomainName.ToString().TrimEnd('.'), r.Preference)).ToList(), secure);
    }

    /// <summary>IPv4 and IPv6 addresses of a host; secure only when every answer that had records was.</summary>
    public async Task<DnsAnswer<IPAddress>> AddressesAsync(string host, CancellationToken cancellationToken)
    {
        var v4 = await AskAsync<ARecord>(host, RecordType.A, cancellationToken);
        var v6 = await AskAsync<AaaaRecord>(host, RecordType.Aaaa, cancellationToken);
        var addresses = v4.Records.Select(r => r.Address).Concat(v6.Records.Select(r => r.Address)).ToList();
        if (addresses.Count > 0)
        {
            var secure = (v4.Records.Count == 0 || v4.Secure) && (v6.Records.Count == 0 || v6.Secure) && v4.Status != DnsStatus.Failed && v6.Status != DnsStatus.Failed;
            return new(DnsStatus.Found, addresses, secure);
        }
        if (v4.Status == DnsStatus.Failed || v6.Status == DnsStatus.Failed) return new(DnsStatus.Failed, [], false);
        return new(v4.Status == DnsStatus.NoSuchName ? DnsStatus.NoSuchName : DnsStatus.NoRecords, [], v4.Secure && v6.Secure);
    }

    /// <summary>TLSA records of an MX host for SMTP on <paramref name="port"/> (<c>_25._tcp.mx.example</c>).</summary>
    public async Task<DnsAnswer<Tlsa>> TlsaAsync(string host, int port, CancellationToken cancellationToken)
    {
        var (status, records, secure) = await AskAsync<TlsaRecord>($"_{port}._tcp.{host}", RecordType.Tlsa, cancellationToken);
        return new(status, records.Select(r => new Tlsa((int)r.CertificateUsage, (int)r.Selector, (int)r.MatchingType, r.CertificateAssociationData)).ToList(), secure);
    }

    /// <summary>TXT records, each one string (its character-strings joined, as RFC 8461 reads them).</summary>
    public async Task<DnsAnswer<string>> TxtAsync(string name, CancellationToken cancellationToken)
    {
        var (status, records, secure) = await AskAsync<TxtRecord>(name, RecordType.Txt, cancellationToken);
        return new(status, records.Select(r => string.Concat(r.TextParts)).ToList(), secure);
    }

    private async Task<(DnsStatus Status, IReadOnlyList<T> Records, bool Secure)> AskAsync<T>(string name, RecordType type, CancellationToken cancellationToken)
        where T : DnsRecordBase
    {
        if (!DomainName.TryParse(name, out var domainName) || domainName is null) return (DnsStatus.NoSuchName, [], false);
        DnsMessage? answer;
        // The client's own timeout is per transport attempt; a server that accepts and never answers
        // must still end the question within Direct:DnsTimeout.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(_timeout);
        try
        {
            answer = await _client.ResolveAsync(domainName, type, RecordClass.INet,
                new DnsQueryOptions { IsEDnsEnabled = true, IsDnsSecOk = true, IsRecursionDesired = true, IsCheckingDisabled = false },
                deadline.Token).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (DnsStatus.Failed, [], false);
        }
        catch (Exception e) when (e is System.Net.Sockets.SocketException or IOException or TimeoutException or ArgumentException or FormatException)
        {
            return (DnsStatus.Failed, [], false);
        }
        if (answer is null) return (DnsStatus.Failed, [], false);
        var secure = _trustAd && answer.IsAuthenticData;
        switch (answer.ReturnCode)
        {
            case ReturnCode.NoError:
                var records = answer.AnswerRecords.OfType<T>().ToList();
                return (records.Count > 0 ? DnsStatus.Found : DnsStatus.NoRecords, records, secure);
            case ReturnCode.NxDomain:
                return (DnsStatus.NoSuchName, [], secure);
            default:
                return (DnsStatus.Failed, [], false);
        }
    }
}
