using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace PhiMailGateway.Bench.Direct;

/// <summary>
/// The recipient domains' DNS for the TLS-first scenarios: an ARSoft DnsServer on 127.0.0.1 (UDP and
/// TCP, one free port), answering from a fixed table the way a recursive resolver would. A name in the
/// table with none of the asked type is NOERROR without records (the MX host's AAAA); every other name
/// is NXDOMAIN, `_mta-sts.<domain>` included, so no MTA-STS policy is fetched. Names under a zone
/// marked signed carry the AD bit, as from a validating resolver (the gateway believes it only with
/// Direct:ResolverValidatesDnssec); nothing is actually signed.
/// </summary>
public sealed class BenchDnsServer : IDisposable
{
    private readonly Dictionary<(string Name, RecordType Type), List<DnsRecordBase>> _records = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _signedZones = new(StringComparer.Ordinal);
    private readonly DnsServer _server;
    private long _queries;

    private BenchDnsServer(DnsServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The value for Direct:Resolver.</summary>
    public string Resolver => $"127.0.0.1:{Port}";

    /// <summary>Questions answered so far (the gateway asks MX, A and AAAA per copy).</summary>
    public long Queries => Interlocked.Read(ref _queries);

    /// <summary>Starts with the records already in place: the table is only read while serving.</summary>
    public static BenchDnsServer Start(Action<BenchDnsServer> zone)
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeUdpAndTcpPort();
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            var server = new DnsServer(new UdpServerTransport(endPoint), new TcpServerTransport(endPoint));
            var dns = new BenchDnsServer(server, port);
            zone(dns);
            server.QueryReceived += dns.OnQueryAsync;
            try
            {
                server.Start();
                return dns;
            }
            catch (SocketException) when (attempt < 5)
            {
                server.Stop();
            }
        }
    }

    public BenchDnsServer Mx(string domain, int preference, string host) =>
        Add(domain, new MxRecord(Name(domain), 300, (ushort)preference, Name(host)));

    public BenchDnsServer A(string host, IPAddress address) =>
        Add(host, new ARecord(Name(host), 300, address));

    public BenchDnsServer Tlsa(string host, int port, byte[] spkiSha256) =>
        Add($"_{port}._tcp.{host}", new TlsaRecord(Name($"_{port}._tcp.{host}"), 300,
            TlsaRecord.TlsaCertificateUsage.DaneEE, TlsaRecord.TlsaSelector.SubjectPublicKeyInfo, TlsaRecord.TlsaMatchingType.Sha256Hash, spkiSha256));

    /// <summary>Answers for this zone and every name under it carry AD.</summary>
    public BenchDnsServer Sign(string zone)
    {
        _signedZones.Add(Key(zone));
        return this;
    }

    private BenchDnsServer Add(string name, DnsRecordBase record)
    {
        var key = (Key(name), record.RecordType);
        if (!_records.TryGetValue(key, out var list)) _records[key] = list = [];
        list.Add(record);
        _names.Add(key.Item1);
        return this;
    }

    private Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query || query.Questions.Count != 1) return Task.CompletedTask;
        Interlocked.Increment(ref _queries);
        var question = query.Questions[0];
        var name = Key(question.Name.ToString());
        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (_records.TryGetValue((name, question.RecordType), out var records))
            foreach (var record in records) response.AnswerRecords.Add(record);
        response.ReturnCode = _names.Contains(name) ? ReturnCode.NoError : ReturnCode.NxDomain;
        response.IsAuthenticData = _signedZones.Any(zone => name == zone || name.EndsWith("." + zone, StringComparison.Ordinal));
        e.Response = response;
        return Task.CompletedTask;
    }

    private static string Key(string name) => name.Trim().TrimEnd('.').ToLowerInvariant();

    private static DomainName Name(string name) => DomainName.Parse(Key(name));

    private static int FreeUdpAndTcpPort()
    {
        using var tcp = new TcpListener(IPAddress.Loopback, 0);
        tcp.Start();
        var port = ((IPEndPoint)tcp.LocalEndpoint).Port;
        using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, port));
        return port;
    }

    public void Dispose() => _server.Stop();
}
