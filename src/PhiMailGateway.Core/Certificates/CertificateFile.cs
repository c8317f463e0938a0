using System.Text;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.X509;

namespace PhiMailGateway.Certificates;

/// <summary>What one certificate file held: certificates (a recipient's, and maybe its chain) and CRLs.</summary>
public sealed record CertificateBundle(IReadOnlyList<X509Certificate> Certificates, IReadOnlyList<X509Crl> Crls);

/// <summary>A certificate file that cannot or must not be imported; the message is for IT, as is.</summary>
public sealed class CertificateFileException(string message) : Exception(message);

/// <summary>
/// Reads what IT is given by a partner: a certificate (PEM or DER), a PKCS#7 chain (.p7b/.p7c, PEM
/// or DER), or a CRL. A PKCS#12 file (.pfx/.p12) or a private key is refused: a partner's private key
/// must never be handed to us, and holding one would let the gateway read the partner's mail.
/// </summary>
public static class CertificateFile
{
    public const string PrivateKeyRefusal =
        "contains a private key (PKCS#12/PFX). Recipient certificates are public: ask the partner for the certificate alone (.cer, .pem or .p7b). " +
        "IT should never be handed a partner's private key; treat this one as compromised and tell the partner.";

    public static CertificateBundle Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CertificateFileException($"cannot read '{path}': {e.Message}");
        }
        var extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is ".pfx" or ".p12") throw new CertificateFileException($"'{Path.GetFileName(path)}' {PrivateKeyRefusal}");
        return Parse(bytes, Path.GetFileName(path));
    }

    public static CertificateBundle Parse(byte[] bytes, string name)
    {
        if (bytes.Length == 0 || bytes.All(b => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            throw new CertificateFileException($"'{name}' is empty.");

        var certificates = new List<X509Certificate>();
        var crls = new List<X509Crl>();
        var text = LooksLikeText(bytes) ? Encoding.ASCII.GetString(bytes) : null;
        if (text is not null && text.Contains("-----BEGIN ", StringComparison.Ordinal))
        {
            foreach (var (type, der) in PemBlocks(text, name))
            {
                switch (type)
                {
                    case "CERTIFICATE" or "X509 CERTIFICATE" or "TRUSTED CERTIFICATE":
                    case "PKCS7" or "CMS" or "X509 CRL":
                        AddDer(der, name, certificates, crls);
                        break;
                    case var t when t.Contains("PRIVATE KEY", StringComparison.Ordinal):
                        throw new CertificateFileException($"'{name}' {PrivateKeyRefusal}");
                    default:
                        throw new CertificateFileException($"'{name}' holds a PEM block of type '{type}'; expected CERTIFICATE, PKCS7 or X509 CRL.");
                }
            }
        }
        else
        {
            AddDer(bytes, name, certificates, crls);
        }
        if (certificates.Count == 0 && crls.Count == 0)
            throw new CertificateFileException($"'{name}' holds no certificate.");
        return new CertificateBundle(certificates, crls);
    }

    private static void AddDer(byte[] der, string name, List<X509Certificate> certificates, List<X509Crl> crls)
    {
        Asn1Sequence sequence;
        try
        {
            sequence = Asn1Sequence.GetInstance(Asn1Object.FromByteArray(der));
        }
        catch (Exception)
        {
            throw new CertificateFileException($"'{name}' is not a certificate: expected PEM or DER (X.509 certificate, PKCS#7 chain or CRL).");
        }

        // PKCS#12: SEQUENCE { INTEGER 3, ContentInfo, ... }.
        if (sequence.Count >= 2 && sequence[0] is DerInteger version && version.HasValue(3) && sequence[1] is Asn1Sequence)
            throw new CertificateFileException($"'{name}' {PrivateKeyRefusal}");

        try
        {
            if (sequence.Count >= 1 && sequence[0] is DerObjectIdentifier type)
            {
                if (!type.Equals(PkcsObjectIdentifiers.SignedData))
                    throw new CertificateFileException($"'{name}' is a PKCS#7 file of type {type.Id}; expected a certificate chain (signed-data).");
                var signed = new CmsSignedData(der);
                certificates.AddRange(signed.GetCertificates().EnumerateMatches(null));
                crls.AddRange(signed.GetCrls().EnumerateMatches(null));
                return;
            }
            if (sequence.Count == 3 && sequence[0] is Asn1Sequence)
            {
                X509CertificateStructure? structure = null;
                try
                {
                    structure = X509CertificateStructure.GetInstance(sequence);
                }
                catch (Exception)
                {
                    // Not a certificate; a CRL has the same outer shape.
                }
                if (structure is not null) certificates.Add(new X509Certificate(structure));
                else crls.Add(new X509Crl(CertificateList.GetInstance(sequence)));
                return;
            }
        }
        catch (CertificateFileException)
        {
            throw;
        }
        catch (Exception)
        {
            throw new CertificateFileException($"'{name}' is damaged: it looks like DER but does not decode as a certificate, PKCS#7 chain or CRL.");
        }
        throw new CertificateFileException($"'{name}' is not a certificate: expected PEM or DER (X.509 certificate, PKCS#7 chain or CRL).");
    }

    private static bool LooksLikeText(byte[] bytes) => bytes.Take(4096).All(b => b is (byte)'\r' or (byte)'\n' or (byte)'\t' || b is >= 0x20 and < 0x7F);

    private static IEnumerable<(string Type, byte[] Der)> PemBlocks(string text, string name)
    {
        var position = 0;
        while (true)
        {
            var begin = text.IndexOf("-----BEGIN ", position, StringComparison.Ordinal);
            if (begin < 0) yield break;
            var typeEnd = text.IndexOf("-----", begin + 11, StringComparison.Ordinal);
            if (typeEnd < 0) throw new CertificateFileException($"'{name}' has a broken PEM header.");
            var type = text[(begin + 11)..typeEnd];
            var footer = $"-----END {type}-----";
            var end = text.IndexOf(footer, typeEnd, StringComparison.Ordinal);
            if (end < 0) throw new CertificateFileException($"'{name}' has a PEM block '{type}' without its END line.");
            var body = text[(typeEnd + 5)..end];
            // Encapsulated headers (Proc-Type, DEK-Info) mean an encrypted key: refused by type below anyway.
            var base64 = string.Concat(body.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0 && !l.Contains(':', StringComparison.Ordinal)));
            byte[] der;
            try
            {
                der = Convert.FromBase64String(base64);
            }
            catch (FormatException)
            {
                throw new CertificateFileException($"'{name}' has a PEM block '{type}' whose content is not base64.");
            }
            yield return (type, der);
            position = end + footer.Length;
        }
    }
}
