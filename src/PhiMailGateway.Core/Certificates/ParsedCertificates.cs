using Org.BouncyCastle.X509;

namespace PhiMailGateway.Certificates;

internal static class ParsedCertificates
{
    /// <summary>
    /// One parsed object per certificate for the life of the process. BouncyCastle validates an RSA
    /// public key (a probable-prime test on the modulus) the first time it is read from a certificate
    /// object and then keeps it; parsing afresh for every message made that test most of the S/MIME
    /// CPU time. The key is the SHA-256 thumbprint of the DER bytes, so a cached object always
    /// matches the row; the cache is dropped wholesale if it ever grows past any real partner list.
    /// </summary>
    public static X509Certificate Get(string thumbprint, byte[] der)
    {
        if (Cache.Count > 10_000) Cache.Clear();
        return Cache.GetOrAdd(thumbprint, _ => new X509Certificate(der));
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, X509Certificate> Cache = new(StringComparer.Ordinal);
}
