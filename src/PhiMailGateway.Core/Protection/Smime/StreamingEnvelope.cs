using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Cms;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace PhiMailGateway.Protection.Smime;

/// <summary>
/// CMS EnvelopedData (RFC 5652) with AES-256-CBC, written as a stream: BouncyCastle's ASN.1
/// generators for the structure and its recipient-info generator for the key transport, .NET's
/// <see cref="Aes"/> (OpenSSL, AES-NI) for the content. BouncyCastle's own
/// <see cref="CmsEnvelopedDataStreamGenerator"/> produces the same structure but encrypts in
/// managed code, which the benchmark showed to be the largest single cost of the S/MIME stage;
/// it cannot take another cipher. The layout matches it: a BER ContentInfo, version from the
/// recipients (0 for key transport with issuer and serial number), the recipient set DER-encoded,
/// and the encrypted content as a constructed OCTET STRING in chunks.
/// </summary>
internal static class StreamingEnvelope
{
    private const int ChunkSize = 16 * 1024;

    public static async Task WriteAsync(Stream plaintext, Stream output, RecipientInfoGenerator recipient, CancellationToken cancellationToken)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var iv = RandomNumberGenerator.GetBytes(16);
        try
        {
            var recipientInfo = recipient.Generate(new KeyParameter(key), new SecureRandom());
            var contentEncryption = new AlgorithmIdentifier(NistObjectIdentifiers.IdAes256Cbc, new DerOctetString(iv));

            using var aes = Aes.Create();
            aes.Key = key;
            using var encryptor = aes.CreateEncryptor(key, iv); // CBC with PKCS#7 padding: .NET's defaults, stated by the OID above

            var contentInfo = new BerSequenceGenerator(output);
            contentInfo.AddObject(CmsObjectIdentifiers.EnvelopedData);
            var envelopedData = new BerSequenceGenerator(contentInfo.GetRawOutputStream(), 0, true);
            envelopedData.AddObject(DerInteger.ValueOf(VersionFor(recipientInfo)));
            var raw = envelopedData.GetRawOutputStream();
            using (var recipients = new DerSetGenerator(raw))
                recipients.AddObject(recipientInfo);
            var encryptedContentInfo = new BerSequenceGenerator(raw);
            encryptedContentInfo.AddObject(CmsObjectIdentifiers.Data);
            encryptedContentInfo.AddObject(contentEncryption);
            var octets = new BerOctetStringGenerator(encryptedContentInfo.GetRawOutputStream(), 0, false);
            await using (var chunks = octets.GetOctetOutputStream(new byte[ChunkSize]))
            await using (var encrypting = new CryptoStream(chunks, encryptor, CryptoStreamMode.Write, leaveOpen: true))
            {
                await plaintext.CopyToAsync(encrypting, 81920, cancellationToken);
                await encrypting.FlushFinalBlockAsync(cancellationToken);
            }
            // Innermost first: each Dispose writes the end-of-contents of its indefinite length.
            octets.Dispose();
            encryptedContentInfo.Dispose();
            envelopedData.Dispose();
            contentInfo.Dispose();
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>RFC 5652 6.1, for one recipient and no originator info or unprotected attributes.</summary>
    private static int VersionFor(RecipientInfo recipientInfo) =>
        recipientInfo.Info is KeyTransRecipientInfo { RecipientIdentifier.IsTagged: false } ? 0 : 2;
}
