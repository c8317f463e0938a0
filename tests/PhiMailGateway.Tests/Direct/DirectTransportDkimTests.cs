using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Direct;
using PhiMailGateway.Relay;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Direct;

/// <summary>
/// DKIM on the wire: a copy delivered to a real MX sink (loopback, STARTTLS, PKIX under the test CA)
/// arrives as queued with one DKIM-Signature header on top, and dkimpy verifies it against the record
/// `dkim keygen` would print; a copy of another domain arrives unsigned.
/// </summary>
public class DirectTransportDkimTests
{
    private const string Domain = "smiledental.example";
    private const string Selector = "mail2026";
    private const string RecordName = Selector + "._domainkey." + Domain;

    /// <summary>One part, 7-bit, with the trace header the gateway puts on every copy.</summary>
    private static readonly byte[] Plain = Encoding.ASCII.GetBytes(
        "Received: from [192.0.2.10] by gateway.smiledental.example with ESMTPS id 01TEST; Mon, 07 Dec 2026 10:00:00 +0000\r\n" +
        "From: Front Desk <office@smiledental.example>\r\nTo: dr@x.test\r\nSubject: Referral\r\n" +
        "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <dkim-1@smiledental.example>\r\n\r\nPlease see the attached.\r\n");

    private static readonly byte[] ImageBytes = RandomNumberGenerator.GetBytes(6000);

    /// <summary>Multipart: an 8-bit UTF-8 text part, then a base64 image (copied raw by the relay).</summary>
    private static readonly byte[] Multipart = Encoding.UTF8.GetBytes(
        "From: office@smiledental.example\r\nTo: lab@x.test\r\nSubject: =?utf-8?q?R=C3=B6ntgen?=\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n" +
        "Message-ID: <dkim-2@smiledental.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n" +
        "This is a multi-part message.\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
        "Gr\u00fc\u00dfe aus der Praxis,   Dr. M\u00fcller  \r\n\r\n--b1\r\nContent-Type: image/jpeg; name=\"bw.jpg\"\r\nContent-Transfer-Encoding: base64\r\n" +
        "Content-Disposition: attachment; filename=\"bw.jpg\"\r\n\r\n" +
        string.Concat(Convert.ToBase64String(ImageBytes).Chunk(76).Select(l => new string(l) + "\r\n")) +
        "--b1--\r\n");

    private TestDnsServer _dns = null!;
    private TempDirectory _temp = null!;
    private GatewayDatabase _database = null!;
    private string _trustRoots = null!;
    private string _keyPath = null!;
    private string _record = null!;
    private int _port;
    private int _nextAddress = 100;

    [OneTimeSetUp]
    public async Task Start()
    {
        _dns = TestDnsServer.Start();
        _temp = new TempDirectory();
        _database = new GatewayDatabase(Path.Combine(_temp.Path, "gateway.db"));
        await _database.MigrateAsync(CancellationToken.None);
        _trustRoots = TestCertificates.WritePem(Path.Combine(_temp.Path, "roots.pem"), TestCertificates.Ca);
        using var key = RSA.Create(2048);
        _keyPath = Path.Combine(_temp.Path, "dkim.pem");
        File.WriteAllText(_keyPath, key.ExportRSAPrivateKeyPem());
        File.SetUnixFileMode(_keyPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _record = "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(key.ExportSubjectPublicKeyInfo());
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _port = ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [OneTimeTearDown]
    public void Stop()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dns.Dispose();
        _temp.Dispose();
    }

    [TestCase("plain")]
    [TestCase("multipart")]
    public async Task DirectCopy_OfTheSigningDomain_ArrivesAsQueuedUnderOneDkimSignature_ThatDkimpyVerifies(string kind)
    {
        var queued = kind == "plain" ? Plain : Multipart;
        await using var mx = await MxAsync($"{kind}.dkim.test");

        var outcome = (await SendAsync("office@smiledental.example", queued, $"dr@{kind}.dkim.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        var received = mx.Messages.Single().Data;
        var (signature, rest) = SplitFirstHeader(received);
        var unfolded = System.Text.RegularExpressions.Regex.Replace(signature, @"\r\n[ \t]+", " ");
        Assert.That(unfolded, Does.StartWith("DKIM-Signature: v=1; a=rsa-sha256; d=smiledental.example; s=mail2026; c=relaxed/relaxed;"));
        Assert.That(rest, Is.EqualTo(queued), "below the signature, the bytes the gateway queued");
        var verified = DkimVerifier.Verify(received, RecordName, _record);
        Assert.That(verified.Passed, Is.True, verified.Output);
    }

    [TestCase("body")]
    [TestCase("subject")]
    public async Task DirectCopy_ChangedAfterSigning_FailsVerification(string part)
    {
        await using var mx = await MxAsync($"tamper-{part}.dkim.test");
        await SendAsync("office@smiledental.example", Plain, $"dr@tamper-{part}.dkim.test");
        var received = Encoding.ASCII.GetString(mx.Messages.Single().Data);

        var tampered = part == "body"
            ? received.Replace("Please see the attached.", "Please see the attachment", StringComparison.Ordinal)
            : received.Replace("Subject: Referral", "Subject: Invoice", StringComparison.Ordinal);
        var verified = DkimVerifier.Verify(Encoding.ASCII.GetBytes(tampered), RecordName, _record);

        Assert.That(tampered, Is.Not.EqualTo(received));
        Assert.That(verified.Passed, Is.False, verified.Output);
    }

    [Test]
    public async Task DirectCopy_OfAnotherDomain_ArrivesUnsigned_ExactlyAsQueued()
    {
        var queued = Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Plain).Replace("office@smiledental.example", "billing@other-practice.test", StringComparison.Ordinal));
        await using var mx = await MxAsync("other.dkim.test");

        var outcome = (await SendAsync("billing@other-practice.test", queued, "dr@other.dkim.test")).Single();

        Assert.That(outcome.Status, Is.EqualTo(RecipientStatus.Delivered), outcome.Response);
        Assert.That(mx.Messages.Single().Data, Is.EqualTo(queued), "no DKIM-Signature for a domain that is not Direct:Dkim:Domain");
    }

    /// <summary>The first header field (with its folded lines) and the bytes after it.</summary>
    private static (string Header, byte[] Below) SplitFirstHeader(byte[] message)
    {
        var end = 0;
        do end = Array.IndexOf(message, (byte)'\n', end) + 1;
        while (end > 0 && end < message.Length && message[end] is (byte)' ' or (byte)'\t');
        return (Encoding.ASCII.GetString(message, 0, end), message[end..]);
    }

    private async Task<IReadOnlyList<RecipientOutcome>> SendAsync(string sender, byte[] queued, params string[] recipients)
    {
        var options = new DirectOptions
        {
            Enabled = true,
            Resolver = _dns.Resolver,
            SmtpPort = _port,
            HeloName = "gateway.smiledental.example",
            TrustRoots = [_trustRoots],
            DnsTimeout = TimeSpan.FromMilliseconds(500),
            Timeout = TimeSpan.FromSeconds(10),
            Dkim = new DirectDkimOptions { Domain = Domain, Selector = Selector, KeyPath = _keyPath },
        };
        Assert.That(new DirectOptionsValidator().Validate(null, options).Succeeded, Is.True);
        var dns = new DnsLookup(options);
        using var policies = new MtaStsPolicies(options, dns, MxCertificateCheck.For(options), new SqlMtaStsPolicyStore(_database), TimeProvider.System, NullLogger<MtaStsPolicies>.Instance);
        var transport = new DirectTransport(options, new GatewayOptions(), dns, MxCertificateCheck.For(options), policies, TimeProvider.System, NullLogger<DirectTransport>.Instance);
        return await transport.SendAsync(new RelayRequest("01TEST-DKIM", sender, recipients, () => new MemoryStream(queued), RequireTls: false, DateTimeOffset.UtcNow), CancellationToken.None);
    }

    private async Task<FakeSmtpUpstream> MxAsync(string domain)
    {
        var host = "mx." + domain;
        var address = IPAddress.Parse($"127.0.0.{Interlocked.Increment(ref _nextAddress)}");
        _dns.Mx(domain, 10, host).A(host, address.ToString());
        X509Certificate2 certificate = TestCertificates.CreateServer(TestCertificates.Ca, host);
        return await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = address, Port = _port, Certificate = certificate });
    }
}
