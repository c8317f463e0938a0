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
internal sealed class StreamingEnvelope : WriteOnlyStream
{
    private const int ChunkSize = 16 * 1024;

    private readonly BerSequenceGenerator _contentInfo;
    private readonly BerSequenceGenerator _envelopedData;
    private readonly BerSequenceGenerator _encryptedContentInfo;
    private readonly BerOctetStringGenerator _octets;
    private readonly Stream _chunks;
    private readonly Aes _aes;
    private readonly ICryptoTransform _encryptor;
    private readonly CryptoStream _encrypting;
    private bool _finished;

    /// <summary>Writes the header and recipient info to <paramref name="output"/>; what is written to the result is encrypted; dispose to finish.</summary>
    public static StreamingEnvelope Open(Stream output, RecipientInfoGenerator recipient) => new(output, recipient);

    /// <summary>The whole of <paramref name="plaintext"/> enveloped into <paramref name="output"/>.</summary>
    public static async Task WriteAsync(Stream plaintext, Stream output, RecipientInfoGenerator recipient, CancellationToken cancellationToken)
    {
        await using var envelope = Open(output, recipient);
        await plaintext.CopyToAsync(envelope, 81920, cancellationToken);
    }

    private StreamingEnvelope(Stream output, RecipientInfoGenerator recipient)
    {
        var key = RandomNumberGenerator.GetBytes(32);
        var iv = RandomNumberGenerator.GetBytes(16);
        try
        {
            var recipientInfo = recipient.Generate(new KeyParameter(key), new SecureRandom());
            _aes = Aes.Create();
            _encryptor = _aes.CreateEncryptor(key, iv); // CBC with PKCS#7 padding: .NET's defaults, as the OID below states

            _contentInfo = new BerSequenceGenerator(output);
            _contentInfo.AddObject(CmsObjectIdentifiers.EnvelopedData);
            _envelopedData = new BerSequenceGenerator(_contentInfo.GetRawOutputStream(), 0, true);
            _envelopedData.AddObject(DerInteger.ValueOf(VersionFor(recipientInfo)));
            var raw = _envelopedData.GetRawOutputStream();
            using (var recipients = new DerSetGenerator(raw))
                recipients.AddObject(recipientInfo);
            _encryptedContentInfo = new BerSequenceGenerator(raw);
            _encryptedContentInfo.AddObject(CmsObjectIdentifiers.Data);
            _encryptedContentInfo.AddObject(new AlgorithmIdentifier(NistObjectIdentifiers.IdAes256Cbc, new DerOctetString(iv)));
            _octets = new BerOctetStringGenerator(_encryptedContentInfo.GetRawOutputStream(), 0, false);
            _chunks = _octets.GetOctetOutputStream(new byte[ChunkSize]);
            _encrypting = new CryptoStream(_chunks, _encryptor, CryptoStreamMode.Write, leaveOpen: true);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }

    /// <summary>RFC 5652 6.1, for one recipient and no originator info or unprotected attributes.</summary>
    private static int VersionFor(RecipientInfo recipientInfo) =>
        recipientInfo.Info is KeyTransRecipientInfo { RecipientIdentifier.IsTagged: false } ? 0 : 2;

    public override void Write(byte[] buffer, int offset, int count) => _encrypting.Write(buffer, offset, count);

    public override void Write(ReadOnlySpan<byte> buffer) => _encrypting.Write(buffer);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _encrypting.WriteAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _encrypting.WriteAsync(buffer, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_finished)
        {
            _finished = true;
            _encrypting.FlushFinalBlock();
            _encrypting.Dispose();
            // Innermost first: each Dispose writes the end-of-contents of its indefinite length.
            _chunks.Dispose();
            _octets.Dispose();
            _encryptedContentInfo.Dispose();
            _envelopedData.Dispose();
            _contentInfo.Dispose();
            _encryptor.Dispose();
            _aes.Dispose();
        }
        base.Dispose(disposing);
    }

    public override bool CanWrite => !_finished;
}
