using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace PhiMailGateway.Direct;

/// <summary>How an MX's TLS must be verified before a copy may go to it.</summary>
public enum TlsVerification
{
    /// <summary>RFC 7672: the certificate matches a DNSSEC-validated TLSA record of the MX host.</summary>
    Dane,

    /// <summary>RFC 8461 enforce: the MX matches the policy and its certificate is PKIX-valid for its name.</summary>
    MtaSts,

    /// <summary>No DANE, no enforced policy, but a certificate PKIX-valid for the MX name (Direct:AcceptPkix).</summary>
    Pkix,
}

/// <summary>The verdict on one server certificate: null <see cref="Failure"/> when it passed.</summary>
public sealed record CertificateVerdict(string? Failure)
{
    public static readonly CertificateVerdict Passed = new((string?)null);

    public bool IsValid => Failure is null;
}

/// <summary>
/// Checks an MX's certificate the way the verification in force says. DANE-EE (3) matches the
/// leaf's certificate or public key, nothing else (RFC 7672 2.3.3: no name, no dates); DANE-TA (2)
/// matches a certificate the server presented and then needs a chain from the leaf to it, valid
/// now and for the MX name; PKIX (also for MTA-STS) needs a chain to the system's roots or to
/// <c>Direct:TrustRoots</c>, with the serverAuth purpose, valid for the MX name. Revocation is not
/// checked: an MX's CRL or OCSP server is another host on the path an attacker controls anyway,
/// and no MTA waits for it.
/// </summary>
public sealed class MxCertificateCheck(IReadOnlyList<X509Certificate2> trustRoots)
{
    private const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <param name="presented">The leaf, and the other certificates the server sent.</param>
    public CertificateVerdict Dane(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, IReadOnlyList<Tlsa> records, string host)
    {
        foreach (var record in records.Where(r => r.Usage == 3))
        {
            if (Matches(record, leaf)) return CertificateVerdict.Passed;
        }
        foreach (var record in records.Where(r => r.Usage == 2))
        {
            foreach (var anchor in presented.Where(c => Matches(record, c)))
            {
                if (ChainsThrough(leaf, presented, anchor) && NameMatches(leaf, host)) return CertificateVerdict.Passed;
            }
        }
        return new CertificateVerdict("the certificate matches none of the MX's TLSA records");
    }

    public CertificateVerdict Pkix(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, string host)
    {
        var chained = ChainsTo(leaf, presented, null) || (trustRoots.Count > 0 && ChainsTo(leaf, presented, trustRoots));
        if (!chained) return new CertificateVerdict("the certificate does not chain to a trusted root, or is expired or not for servers");
        if (!NameMatches(leaf, host)) return new CertificateVerdict("the certificate is not valid for the MX host name");
        return CertificateVerdict.Passed;
    }

    /// <summary>TLSA usages this gateway can use for SMTP (RFC 7672 3.1: PKIX-TA and PKIX-EE are not for SMTP).</summary>
    public static bool Usable(Tlsa record) =>
        record.Usage is 2 or 3 && record.Selector is 0 or 1 && record.MatchingType is 0 or 1 or 2;

    public static bool Matches(Tlsa record, X509Certificate2 certificate)
    {
        if (!Usable(record)) return false;
        var selected = record.Selector == 0 ? certificate.RawData : certificate.PublicKey.ExportSubjectPublicKeyInfo();
        var digest = record.MatchingType switch
        {
            1 => SHA256.HashData(selected),
            2 => SHA512.HashData(selected),
            _ => selected,
        };
        return CryptographicOperations.FixedTimeEquals(digest, record.Data);
    }

    /// <param name="anchors">Roots to trust instead of the system's; null: the system's.</param>
    private static bool ChainsTo(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, IReadOnlyList<X509Certificate2>? anchors)
    {
        using var chain = ServerChain(presented);
        if (anchors is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            foreach (var anchor in anchors) chain.ChainPolicy.CustomTrustStore.Add(anchor);
        }
        return chain.Build(leaf);
    }

    /// <summary>
    /// The leaf's chain, built from what the server presented, reaches <paramref name="anchor"/> with
    /// every signature and date on the way valid. What lies above the anchor does not matter (RFC
    /// 7672 2.3.2: the anchor is trusted because DNSSEC says so), which X509Chain can only express
    /// as "an unknown root is fine" and then a look at the elements.
    /// </summary>
    private static bool ChainsThrough(X509Certificate2 leaf, IReadOnlyList<X509Certificate2> presented, X509Certificate2 anchor)
    {
        using var chain = ServerChain(presented);
        chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
        if (!chain.Build(leaf)) return false;
        foreach (var element in chain.ChainElements)
        {
            if (element.Certificate.RawDataMemory.Span.SequenceEqual(anchor.RawDataMemory.Span)) return true;
        }
        return false;
    }

    /// <summary>A chain for a server certificate from what the server sent: serverAuth purpose, nothing fetched, no revocation check.</summary>
    private static X509Chain ServerChain(IReadOnlyList<X509Certificate2> presented)
    {
        var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid(ServerAuth));
        chain.ChainPolicy.DisableCertificateDownloads = true;
        foreach (var certificate in presented) chain.ChainPolicy.ExtraStore.Add(certificate);
        return chain;
    }

    private static bool NameMatches(X509Certificate2 leaf, string host) =>
        leaf.MatchesHostname(host.TrimEnd('.'), allowWildcards: true, allowCommonName: false);

    /// <summary>What a TLS handshake's validation callback was handed: the leaf, and every certificate the server sent (the leaf first).</summary>
    public static (X509Certificate2 Leaf, List<X509Certificate2> Presented) Presented(X509Certificate certificate, X509Chain? chain)
    {
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        var presented = new List<X509Certificate2> { leaf };
        if (chain is not null) presented.AddRange(chain.ChainPolicy.ExtraStore.Cast<X509Certificate2>());
        return (leaf, presented);
    }

    public static MxCertificateCheck For(DirectOptions options) => new(LoadRoots(options.TrustRoots));

    /// <summary>The roots in <c>Direct:TrustRoots</c> (PEM files, each one or more certificates).</summary>
    public static IReadOnlyList<X509Certificate2> LoadRoots(IEnumerable<string> paths)
    {
        var roots = new List<X509Certificate2>();
        foreach (var path in paths)
        {
            var collection = new X509Certificate2Collection();
            collection.ImportFromPemFile(path);
            roots.AddRange(collection);
        }
        return roots;
    }
}
