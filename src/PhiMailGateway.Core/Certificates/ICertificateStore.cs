using Org.BouncyCastle.X509;

namespace PhiMailGateway.Certificates;

/// <summary>A certificate in the store with the recipient addresses it serves (none for an authority).</summary>
public sealed record StoredCertificate(string Thumbprint, X509Certificate Certificate, bool IsAuthority, IReadOnlyList<string> Addresses);

/// <summary>The certificates one decision needs: the recipient's own, and the authorities and CRLs to check them.</summary>
public sealed record CertificateSnapshot(IReadOnlyList<StoredCertificate> Recipients, IReadOnlyList<X509Certificate> Authorities, IReadOnlyList<X509Crl> Crls);

/// <summary>One imported end-entity or authority certificate, and what was new.</summary>
public sealed record ImportedCertificate(StoredCertificate Stored, bool New);

public sealed record ImportResult(IReadOnlyList<ImportedCertificate> Certificates, int NewCrls, int KnownCrls);

/// <summary>
/// Recipient S/MIME certificates, the authorities that issued them and their CRLs. The S/MIME
/// context (<see cref="Protection.Smime.GatewaySecureMimeContext"/>) reads its certificates from
/// here. Storage failures come out as <see cref="Storage.StorageException"/>.
/// </summary>
public interface ICertificateStore
{
    /// <summary>
    /// Imports every certificate and CRL of <paramref name="bundle"/> in one transaction; what is
    /// already there stays as it is.
    /// </summary>
    /// <param name="address">Bind the (single) recipient certificate to this address instead of the ones it names.</param>
    /// <exception cref="CertificateFileException">The bundle cannot be imported as asked (<see cref="CertificateImportRules"/>); nothing was written.</exception>
    Task<ImportResult> ImportAsync(CertificateBundle bundle, string? address, CancellationToken cancellationToken);

    /// <summary>
    /// Removes the certificates of an address (or one certificate by its thumbprint). A certificate
    /// that still serves another address stays for that one. Returns how many bindings or certificates went.
    /// </summary>
    Task<int> RemoveAsync(string addressOrThumbprint, CancellationToken cancellationToken);

    /// <summary>Every certificate (recipients and authorities) and every CRL, for <c>certs list</c>.</summary>
    Task<CertificateSnapshot> LoadAllAsync(CancellationToken cancellationToken);

    /// <summary>The certificates bound to one address, with every authority and CRL to check them against.</summary>
    Task<CertificateSnapshot> LoadForAsync(string address, CancellationToken cancellationToken);
}
