using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.PickupWeb;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>
/// DKIM end to end as IT sets it up: `dkim keygen` writes the key and prints the record, the gateway
/// runs with Direct:Dkim:*, a mail client submits a referral with an X-ray, and the recipient's MX
/// receives the sender's bytes below the trace header and one DKIM-Signature, which dkimpy verifies
/// against the printed record.
/// </summary>
public class DirectDkimEndToEndTests
{
    [Test]
    public async Task KeygenThenDirectDelivery_TheMxGetsTheSendersBytesUnderTraceAndSignature_AndThePrintedRecordVerifiesIt()
    {
        using var dns = TestDnsServer.Start();
        using var temp = new TempDirectory();
        var keyPath = Path.Combine(temp.Path, "keys", "mail2026.pem");
        var dkimKeys = new[] { "--Direct:Dkim:Domain=smiledental.example", $"--Direct:Dkim:KeyPath={keyPath}" };
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["dkim", "keygen", "--selector", "mail2026", .. dkimKeys, $"--Gateway:DataDirectory={Path.Combine(temp.Path, "cli")}"],
            new StringReader(""), stdout, stderr);
        SqliteConnection.ClearAllPools();
        Assert.That(code, Is.Zero, stderr.ToString());
        var name = Regex.Match(stdout.ToString(), @"^name:  (\S+)$", RegexOptions.Multiline).Groups[1].Value;
        var value = Regex.Match(stdout.ToString(), @"^value: (.+?)\r?$", RegexOptions.Multiline).Groups[1].Value;

        var port = FreePort();
        var address = IPAddress.Parse("127.0.0.201");
        dns.Mx("ortho-lab.test", 10, "mx.ortho-lab.test").A("mx.ortho-lab.test", address.ToString());
        using var certificate = TestCertificates.CreateServer(TestCertificates.Ca, "mx.ortho-lab.test");
        await using var mx = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { Address = address, Port = port, Certificate = certificate });
        await using var bed = await PickupTestBed.StartAsync(new Dictionary<string, string?>
        {
            ["Direct:Enabled"] = "true",
            ["Direct:Resolver"] = dns.Resolver,
            ["Direct:SmtpPort"] = port.ToString(CultureInfo.InvariantCulture),
            ["Direct:TrustRoots:0"] = TestCertificates.WritePem(Path.Combine(temp.Path, "roots.pem"), TestCertificates.Ca),
            ["Direct:DnsTimeout"] = "00:00:02",
            ["Direct:Dkim:Domain"] = "smiledental.example",
            ["Direct:Dkim:Selector"] = "mail2026",
            ["Direct:Dkim:KeyPath"] = keyPath,
        });
        var wire = PickupTestBed.Wire(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "Referral, panoramic attached"));

        await RelayEndToEndTests.SubmitAsync(bed.Gateway, wire, "lab@ortho-lab.test");

        var received = (await mx.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single().Data;
        Assert.That(received.AsSpan().EndsWith(wire), Is.True, "the recipient's MX gets the message as the sender wrote it");
        var added = Encoding.ASCII.GetString(received, 0, received.Length - wire.Length);
        var fields = Regex.Split(added, @"\r\n(?![ \t])").Where(f => f.Length > 0).Select(f => f.Split(':')[0]).ToList();
        Assert.That(fields, Is.EqualTo(new[] { "DKIM-Signature", "Received" }), "above the sender's bytes only the signature and the trace header");
        Assert.That(name, Is.EqualTo("mail2026._domainkey.smiledental.example"));
        var verified = DkimVerifier.Verify(received, name, value);
        Assert.That(verified.Passed, Is.True, verified.Output);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
