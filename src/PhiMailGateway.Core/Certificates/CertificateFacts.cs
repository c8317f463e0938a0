using System.Security.Cryptography;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.X509;

namespace PhiMailGateway.Certificates;

/// <summary>What the gateway reads from a certificate: its addresses, thumbprint and role.</summary>
public static class CertificateFacts
{
    /// <summary>
    /// The e-mail addresses a certificate names: subject alternative names of type rfc822Name and the
    /// subject's E= / emailAddress attribute, lower-cased (addresses compare case-insensitively).
    /// </summary>
    public static IReadOnlySet<string> Addresses(X509Certificate certificate)
    {
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        var names = certificate.GetSubjectAlternativeNames();
        if (names is not null)
        {
            foreach (var name in names)
            {
                if (name.Count >= 2 && name[0] is int tag && tag == GeneralName.Rfc822Name && name[1] is string value)
                    AddIfAddress(addresses, value);
            }
        }
        foreach (var value in certificate.SubjectDN.GetValueList(X509Name.EmailAddress))
            AddIfAddress(addresses, value);
        return addresses;
    }

    /// <summary>A distinguished name as people read it, most specific first (CN=..., O=...).</summary>
    public static string Name(X509Name name) => name.ToString(true, X509Name.DefaultSymbols);

    public static string NormalizeAddress(string address) => address.Trim().ToLowerInvariant();

    public static bool IsAddress(string value)
    {
        var at = value.LastIndexOf('@');
        return at > 0 && at < value.Length - 1 && !value.Any(char.IsWhiteSpace);
    }

    /// <summary>SHA-256 of the DER encoding, upper-case hex: what the audit records as the reference.</summary>
    public static string Thumbprint(X509Certificate certificate) => Convert.ToHexString(SHA256.HashData(certificate.GetEncoded()));

    public static string Thumbprint(X509Crl crl) => Convert.ToHexString(SHA256.HashData(crl.GetEncoded()));

    /// <summary>
    /// An authority only serves to build chains, never to encrypt to. basicConstraints CA:TRUE alone
    /// does not make one: a key whose key usage leaves out keyCertSign cannot sign certificates
    /// (RFC 5280 4.2.1.3), and a self-signed certificate that names a mailbox and restricts nothing
    /// is what `openssl req -x509` makes for a person (it sets CA:TRUE by default): both are the
    /// recipient's own certificate.
    /// </summary>
    public static bool IsAuthority(X509Certificate certificate)
    {
        if (certificate.GetBasicConstraints() < 0) return false;
        var usage = certificate.GetKeyUsage();
        if (usage is not null) return usage.Length > KeyCertSign && usage[KeyCertSign];
        return !(IsSelfSigned(certificate) && Addresses(certificate).Count > 0);
    }

    /// <summary>Why an authority serves no recipient, in words for IT (the import output says it).</summary>
    public static string WhyAuthority(X509Certificate certificate) =>
        certificate.GetKeyUsage() is not null
            ? "it is marked CA:TRUE and its key may sign certificates (keyCertSign)"
            : Addresses(certificate).Count == 0
                ? "it is marked CA:TRUE and names no e-mail address"
                : "it is marked CA:TRUE and was issued by another authority";

    private const int KeyCertSign = 5;

    private static bool IsSelfSigned(X509Certificate certificate)
    {
        if (!certificate.SubjectDN.Equivalent(certificate.IssuerDN)) return false;
        try
        {
            certificate.Verify(certificate.GetPublicKey());
            return true;
        }
        catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.Certificates.CertificateException
                                       or Org.BouncyCastle.Security.SignatureException or InvalidOperationException)
        {
            return false;
        }
    }

    private static void AddIfAddress(HashSet<string> addresses, string value)
    {
        var normalized = NormalizeAddress(value);
        if (IsAddress(normalized)) addresses.Add(normalized);
    }
}
