using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Bench.Load;

namespace PhiMailGateway.Bench.Direct;

/// <summary>
/// The recipient side of the TLS-first scenarios, all on this machine: a bench CA, one MX sink on
/// 127.0.0.2 that offers STARTTLS with a certificate from that CA for both MX names, and a DNS server
/// on 127.0.0.1 whose MX and A records send <see cref="Scenario.DirectRecipient"/>'s domain (PKIX) and
/// <see cref="Scenario.DaneRecipient"/>'s (signed zone, TLSA 3 1 1 of the sink's key) to that sink.
/// The gateway is pointed at it with <see cref="GatewayArgs"/>; Postfix relays to the same sink.
/// </summary>
public sealed class RecipientDomains : IAsyncDisposable
{
    public static readonly IPAddress MxAddress = IPAddress.Parse("127.0.0.2");
    public const string PkixDomain = "endo-direct.example";
    public const string DaneDomain = "endo-dane.example";
    public const string PkixMx = "mx." + PkixDomain;
    public const string DaneMx = "mx." + DaneDomain;

    private readonly string _folder;
    private readonly BenchDnsServer _dns;

    private RecipientDomains(string folder, string caPemFile, SmtpSink sink, BenchDnsServer dns)
    {
        _folder = folder;
        CaPemFile = caPemFile;
        Sink = sink;
        _dns = dns;
    }

    /// <summary>Where the directly delivered copies arrive (X-Bench-Id), as the smarthost sink notes relayed ones.</summary>
    public SmtpSink Sink { get; }

    /// <summary>The bench CA's certificate, PEM: Direct:TrustRoots:0 for the gateway.</summary>
    public string CaPemFile { get; }

    public string Resolver => _dns.Resolver;

    public long DnsQueries => _dns.Queries;

    public static RecipientDomains Start()
    {
        var folder = Path.Combine(Path.GetTempPath(), "phimail-bench-mx-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(folder);
        using var ca = CreateCa();
        var caPem = Path.Combine(folder, "bench-ca.pem");
        File.WriteAllText(caPem, ca.ExportCertificatePem() + "\n");
        var certificate = CreateMxCertificate(ca, PkixMx, DaneMx);
        var sink = new SmtpSink(MxAddress, certificate);
        var spki = SHA256.HashData(certificate.PublicKey.ExportSubjectPublicKeyInfo());
        var dns = BenchDnsServer.Start(zone => zone
            .Mx(PkixDomain, 10, PkixMx).A(PkixMx, MxAddress)
            .Mx(DaneDomain, 10, DaneMx).A(DaneMx, MxAddress).Tlsa(DaneMx, sink.Port, spki).Sign(DaneDomain));
        return new RecipientDomains(folder, caPem, sink, dns);
    }

    /// <summary>Direct delivery on, every lookup asked of the bench DNS, every MX on the sink's port, the bench CA trusted.</summary>
    public IEnumerable<string> GatewayArgs(Scenario scenario)
    {
        yield return "--Direct:Enabled=true";
        yield return $"--Direct:Resolver={Resolver}";
        yield return "--Direct:SmtpPort=" + Sink.Port.ToString(CultureInfo.InvariantCulture);
        yield return $"--Direct:TrustRoots:0={CaPemFile}";
        // The DANE scenario's resolver plays a validating one; the PKIX scenario's AD bits (none) would not count anyway.
        yield return "--Direct:ResolverValidatesDnssec=" + (scenario.Recipients.Any(r => r.EndsWith("@" + DaneDomain, StringComparison.OrdinalIgnoreCase)) ? "true" : "false");
    }

    /// <summary>
    /// ECDSA P-256: the handshake's signature is the sink's work, and on two shared cores the sink must
    /// cost next to nothing (an RSA-2048 signature per message would not); the gateway's side of the
    /// handshake (key exchange, chain and name checks) is the same work either way.
    /// </summary>
    private static X509Certificate2 CreateMxCertificate(X509Certificate2 ca, params string[] names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={names[0]}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names) san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var issued = request.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1), RandomNumberGenerator.GetBytes(16));
        using var withKey = issued.CopyWithPrivateKey(key);
        // Through PKCS#12 so SslStream gets a certificate whose private key it can use.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pfx), null);
    }

    private static X509Certificate2 CreateCa()
    {
        // Not disposed: the self-signed certificate signs the MX certificate with it.
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=PhiMail Bench CA, O=PhiMail Bench", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-2), DateTimeOffset.UtcNow.AddYears(2));
    }

    public async ValueTask DisposeAsync()
    {
        _dns.Dispose();
        await Sink.DisposeAsync();
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }
}
