using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkix;
using Org.BouncyCastle.Utilities.Collections;
using Org.BouncyCastle.X509;
using Org.BouncyCastle.X509.Store;
using PhiMailGateway.Certificates;

namespace PhiMailGateway.Protection.Smime;

/// <param name="Certificate">The certificate to encrypt to, or null when none is usable.</param>
/// <param name="Reason">Why the best candidate is unusable ("expired", "untrusted chain"...), for the audit; null when usable or when there is none.</param>
public sealed record CertificateVerdict(StoredCertificate? Certificate, string? Reason);

/// <summary>
/// MimeKit's S/MIME machinery over our certificate table: a <see cref="BouncyCastleSecureMimeContext"/>
/// whose certificates, authorities and CRLs come from a <see cref="CertificateSnapshot"/> of
/// <see cref="Certificates.ICertificateStore"/>, whose trust anchors are <c>Smime:TrustAnchors</c> and whose
/// signer is the practice's certificate. It decides which recipient certificates are usable
/// (<see cref="Check"/>). It holds no private key of anyone else and never decrypts; nothing is
/// imported through it (IT imports with <c>certs import</c>), and revocation is checked offline
/// against imported CRLs only: nothing is downloaded.
/// </summary>
public sealed class GatewaySecureMimeContext : BouncyCastleSecureMimeContext
{
    private const string EmailProtection = "1.3.6.1.5.5.7.3.4";
    private const string AnyExtendedKeyUsage = "2.5.29.37.0";

    private readonly CertificateSnapshot _snapshot;
    private readonly TrustAnchorSet _anchors;
    private readonly CmsSigner? _signer;
    private readonly SmimeKeyEncryption _keyEncryption;
    private readonly DateTime _now;

    public GatewaySecureMimeContext(CertificateSnapshot snapshot, TrustAnchorSet anchors, DateTimeOffset now, CmsSigner? signer = null,
        SmimeKeyEncryption keyEncryption = SmimeKeyEncryption.RsaPkcs1)
    {
        _snapshot = snapshot;
        _anchors = anchors;
        _signer = signer;
        _keyEncryption = keyEncryption;
        _now = now.UtcDateTime;
    }

    /// <summary>The usable certificate for <paramref name="address"/> that expires last; else the reason the best candidate fails.</summary>
    public CertificateVerdict Choose(string address)
    {
        var key = CertificateFacts.NormalizeAddress(address);
        var candidates = _snapshot.Recipients.Where(c => c.Addresses.Contains(key)).OrderByDescending(c => c.Certificate.NotAfter).ToList();
        if (candidates.Count == 0) return new CertificateVerdict(null, null);
        string? firstReason = null;
        foreach (var candidate in candidates)
        {
            var reason = Check(candidate.Certificate, key);
            if (reason is null) return new CertificateVerdict(candidate, null);
            firstReason ??= reason;
        }
        return new CertificateVerdict(null, firstReason);
    }

    /// <summary>
    /// Null when the certificate may be used to encrypt to <paramref name="address"/>; otherwise the
    /// reason: "address mismatch", "not yet valid", "expired", "no key encipherment usage",
    /// "no e-mail protection usage", "unsupported key type", "untrusted chain" or "revoked".
    /// </summary>
    public string? Check(X509Certificate certificate, string address)
    {
        if (!CertificateFacts.Addresses(certificate).Contains(CertificateFacts.NormalizeAddress(address))) return "address mismatch";
        if (_now < certificate.NotBefore) return "not yet valid";
        if (_now > certificate.NotAfter) return "expired";
        // KeyUsage bit 2 is keyEncipherment; no KeyUsage extension at all means any usage.
        if (certificate.GetKeyUsage() is { } usage && (usage.Length <= 2 || !usage[2])) return "no key encipherment usage";
        if (certificate.GetExtendedKeyUsage() is { } eku && !eku.Any(o => o.Id is EmailProtection or AnyExtendedKeyUsage)) return "no e-mail protection usage";
        if (certificate.GetPublicKey() is not RsaKeyParameters) return "unsupported key type (RSA required)";

        IList<X509Certificate> chain = [certificate];
        if (_anchors.IsConfigured)
        {
            var path = BuildPath(certificate);
            if (path is null) return "untrusted chain";
            chain = path;
        }
        return IsRevoked(chain) ? "revoked" : null;
    }

    /// <summary>The PKIX path from the certificate up to (not including) a trust anchor, or null when there is none.</summary>
    private IList<X509Certificate>? BuildPath(X509Certificate certificate)
    {
        var parameters = new PkixBuilderParameters(_anchors.Anchors, new X509CertStoreSelector { Certificate = certificate })
        {
            IsRevocationEnabled = false, // checked below against imported CRLs, which PKIX would demand for every link
            Date = _now,
        };
        parameters.AddStoreCert(CollectionUtilities.CreateStore(_snapshot.Authorities.Append(certificate).ToList()));
        try
        {
            var result = new PkixCertPathBuilder().Build(parameters);
            var path = result.CertPath.Certificates.ToList();
            path.Add(result.TrustAnchor.TrustedCert);
            return path;
        }
        catch (PkixCertPathBuilderException)
        {
            return null;
        }
    }

    /// <summary>
    /// Offline revocation: a certificate counts as revoked when an imported CRL from its issuer, whose
    /// signature verifies with the issuer's key, lists it. Without such a CRL nothing is known.
    /// </summary>
    private bool IsRevoked(IList<X509Certificate> chain)
    {
        for (var i = 0; i < chain.Count; i++)
        {
            var certificate = chain[i];
            var issuer = i + 1 < chain.Count ? chain[i + 1] : FindIssuer(certificate);
            if (issuer is null || ReferenceEquals(issuer, certificate)) continue;
            foreach (var crl in _snapshot.Crls.Where(c => c.IssuerDN.Equivalent(certificate.IssuerDN)))
            {
                if (crl.IsSignatureValid(issuer.GetPublicKey()) && crl.IsRevoked(certificate)) return true;
            }
        }
        return false;
    }

    private X509Certificate? FindIssuer(X509Certificate certificate) =>
        _snapshot.Authorities.Concat(_anchors.Roots)
            .FirstOrDefault(a => a.SubjectDN.Equivalent(certificate.IssuerDN) && !a.Equals(certificate) && Verifies(certificate, a));

    private static bool Verifies(X509Certificate certificate, X509Certificate issuer)
    {
        try
        {
            return certificate.IsSignatureValid(issuer.GetPublicKey());
        }
        catch (Exception)
        {
            return false;
        }
    }

    protected override X509Certificate GetCertificate(ISelector<X509Certificate> selector) =>
        _snapshot.Recipients.Select(r => r.Certificate).Concat(_snapshot.Authorities).FirstOrDefault(selector.Match)!;

    /// <summary>The gateway holds nobody's private key for decryption.</summary>
    protected override AsymmetricKeyParameter GetPrivateKey(ISelector<X509Certificate> selector) => null!;

    protected override ISet<TrustAnchor> GetTrustedAnchors() => _anchors.Anchors;

    protected override IStore<X509Certificate> GetIntermediateCertificates() => CollectionUtilities.CreateStore(_snapshot.Authorities);

    protected override IStore<X509Crl> GetCertificateRevocationLists() => CollectionUtilities.CreateStore(_snapshot.Crls);

    protected override DateTime GetNextCertificateRevocationListUpdate(X509Name issuer) =>
        _snapshot.Crls.Where(c => c.IssuerDN.Equivalent(issuer)).Select(c => c.NextUpdate ?? DateTime.MaxValue).DefaultIfEmpty(DateTime.MinValue).Max();

    public override bool CanEncrypt(MailboxAddress mailbox, CancellationToken cancellationToken = default) =>
        Choose(mailbox.Address).Certificate is not null;

    public override Task<bool> CanEncryptAsync(MailboxAddress mailbox, CancellationToken cancellationToken = default) =>
        Task.FromResult(CanEncrypt(mailbox, cancellationToken));

    public override bool CanSign(MailboxAddress signer, CancellationToken cancellationToken = default) => _signer is not null;

    public override Task<bool> CanSignAsync(MailboxAddress signer, CancellationToken cancellationToken = default) =>
        Task.FromResult(_signer is not null);

    /// <summary>The recipient's usable certificate, AES-256-CBC, and the configured key transport.</summary>
    protected override CmsRecipient GetCmsRecipient(MailboxAddress mailbox)
    {
        var verdict = Choose(mailbox.Address);
        if (verdict.Certificate is null)
            throw new CertificateNotFoundException(mailbox, verdict.Reason is null ? "No certificate for this recipient." : $"No usable certificate: {verdict.Reason}.");
        return new CmsRecipient(verdict.Certificate.Certificate, SubjectIdentifierType.IssuerAndSerialNumber)
        {
            EncryptionAlgorithms = [EncryptionAlgorithm.Aes256],
            RsaEncryptionPadding = _keyEncryption == SmimeKeyEncryption.RsaOaep
                ? RsaEncryptionPadding.OaepSha256
                : RsaEncryptionPadding.Pkcs1,
        };
    }

    protected override CmsSigner GetCmsSigner(MailboxAddress mailbox, DigestAlgorithm digestAlgo) =>
        _signer ?? throw new CertificateNotFoundException(mailbox, "The practice has no signing certificate (Smime:SigningCertificatePath).");

    /// <summary>We always encrypt with AES-256; what a partner's client announces changes nothing.</summary>
    protected override void UpdateSecureMimeCapabilities(X509Certificate certificate, EncryptionAlgorithm[] algorithms, DateTime timestamp)
    {
    }

    public override void Import(Stream stream, string password, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The gateway never imports private keys (PFX); recipient certificates are imported with `certs import`.");

    public override Task ImportAsync(Stream stream, string password, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The gateway never imports private keys (PFX); recipient certificates are imported with `certs import`.");

    public override void Import(X509Certificate certificate, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("Certificates are imported with `certs import` into the gateway database.");

    public override void Import(X509Crl crl, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("CRLs are imported with `certs import` into the gateway database.");
}
