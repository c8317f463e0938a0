using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using ARSoft.Tools.Net;
using ARSoft.Tools.Net.Dns;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A real DNS server on 127.0.0.1 (UDP and TCP, one free port) for the test zones of direct delivery,
/// answering the way a DNSSEC-validating recursive resolver would: names under a zone marked
/// <see cref="Sign"/> come back with the AD bit, names marked <see cref="Bogus"/> with SERVFAIL (what
/// a validator says when a signature does not check), names marked <see cref="Silent"/> not at all.
/// It does not sign anything itself; the gateway trusts AD only with Direct:ResolverValidatesDnssec,
/// which is the set-up it plays.
/// <code>
/// using var dns = TestDnsServer.Start();
/// dns.Mx("dane.test", 10, "mx1.dane.test").A("mx1.dane.test", "127.0.0.2").Sign("dane.test");
/// // Direct:Resolver = dns.Resolver
/// </code>
/// </summary>
public sealed class TestDnsServer : IDisposable
{
    private readonly ConcurrentDictionary<(string Name, RecordType Type), List<DnsRecordBase>> _records = new();
    private readonly ConcurrentDictionary<string, bool> _signedZones = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, bool> _bogus = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, bool> _silent = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<(string Name, RecordType Type), int> _queries = new();
    private readonly DnsServer _server;
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private TestDnsServer(DnsServer server, int port)
    {
        _server = server;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The value for <c>Direct:Resolver</c>.</summary>
    public string Resolver => $"127.0.0.1:{Port}";

    public static TestDnsServer Start()
    {
        for (var attempt = 1; ; attempt++)
        {
            var port = FreeUdpAndTcpPort();
            var endPoint = new IPEndPoint(IPAddress.Loopback, port);
            var server = new DnsServer(new UdpServerTransport(endPoint), new TcpServerTransport(endPoint));
            var dns = new TestDnsServer(server, port);
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

    public TestDnsServer Add(string name, DnsRecordBase record)
    {
        _records.GetOrAdd((Key(name), record.RecordType), _ => []).Add(record);
        return this;
    }

    public TestDnsServer Mx(string domain, int preference, string host) =>
        Add(domain, new MxRecord(Name(domain), 300, (ushort)preference, Name(host)));

    public TestDnsServer A(string host, string address) =>
        Add(host, new ARecord(Name(host), 300, IPAddress.Parse(address)));

    public TestDnsServer Txt(string name, string text) =>
        Add(name, new TxtRecord(Name(name), 300, text));

    public TestDnsServer Tlsa(string host, int port, TlsaRecord.TlsaCertificateUsage usage, TlsaRecord.TlsaSelector selector,
        TlsaRecord.TlsaMatchingType matching, byte[] data) =>
        Add($"_{port}._tcp.{host}", new TlsaRecord(Name($"_{port}._tcp.{host}"), 300, usage, selector, matching, data));

    /// <summary>Removes every record of the name: it no longer exists (unless names under it do).</summary>
    public TestDnsServer Remove(string name)
    {
        foreach (var key in _records.Keys.Where(k => k.Name == Key(name)).ToList()) _records.TryRemove(key, out _);
        return this;
    }

    /// <summary>Answers for this zone and every name under it carry AD, as for a validly signed zone.</summary>
    public TestDnsServer Sign(string zone)
    {
        _signedZones[Key(zone)] = true;
        return this;
    }

    /// <summary>Every question about this name gets SERVFAIL, as from a validator whose signature check failed.</summary>
    public TestDnsServer Bogus(string name)
    {
        _bogus[Key(name)] = true;
        return this;
    }

    /// <summary>Questions about this name (and names under it) get no answer: the client times out.</summary>
    public TestDnsServer Silent(string name)
    {
        _silent[Key(name)] = true;
        return this;
    }

    /// <summary>How many times the name was asked for with this type.</summary>
    public int Queries(string name, RecordType type) => _queries.TryGetValue((Key(name), type), out var n) ? n : 0;

    private async Task OnQueryAsync(object sender, QueryReceivedEventArgs e)
    {
        if (e.Query is not DnsMessage query || query.Questions.Count != 1) return;
        var question = query.Questions[0];
        var name = Key(question.Name.ToString());
        _queries.AddOrUpdate((name, question.RecordType), 1, (_, n) => n + 1);
        if (IsUnder(name, _silent.Keys))
        {
            // The library answers SERVFAIL for a query left without a response; silence is an
            // answer that never comes, so this one waits until the server stops.
            await _stopped.Task;
            return;
        }

        var response = query.CreateResponseInstance();
        response.IsRecursionAllowed = true;
        if (_bogus.ContainsKey(name))
        {
            response.ReturnCode = ReturnCode.ServerFailure;
        }
        else
        {
            var exists = _records.Keys.Any(k => k.Name == name || k.Name.EndsWith("." + name, StringComparison.Ordinal));
            if (_records.TryGetValue((name, question.RecordType), out var records))
                foreach (var record in records) response.AnswerRecords.Add(record);
            response.ReturnCode = exists ? ReturnCode.NoError : ReturnCode.NxDomain;
            response.IsAuthenticData = IsUnder(name, _signedZones.Keys);
        }
        e.Response = response;
    }

    private static bool IsUnder(string name, IEnumerable<string> zones) =>
        zones.Any(zone => name == zone || name.EndsWith("." + zone, StringComparison.Ordinal));

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

    public void Dispose()
    {
        _stopped.TrySetResult();
        _server.Stop();
    }
}
