using System.Security.Cryptography;
using System.Text;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit;

/// <summary>
/// The keys of the audit log, each derived from the master key for its one purpose: the MAC
/// chain, the encryption of patient fields, the keyed hash that finds a patient's records, and the
/// MAC of head notes shipped off the machine.
/// <see cref="KeyId"/> (the master key's fingerprint) is stored with every record.
/// </summary>
public sealed class AuditKeys
{
    private readonly byte[] _chain;
    private readonly byte[] _fields;
    private readonly byte[] _lookup;
    private readonly byte[] _headNote;

    public AuditKeys(MasterKey master)
    {
        _chain = master.Derive("audit-chain/v1");
        _fields = master.Derive("audit-field-encryption/v1");
        _lookup = master.Derive("audit-patient-lookup/v1");
        _headNote = master.Derive("audit-head-note/v1");
        KeyId = master.KeyId;
    }

    public string KeyId { get; }

    /// <summary>HMAC-SHA256(chain key, prev_mac || canonical content), lower-case hex.</summary>
    public string ChainMac(string prevMac, ReadOnlySpan<byte> canonical)
    {
        var input = new byte[32 + canonical.Length];
        if (!TryHex(prevMac, input.AsSpan(0, 32))) throw new FormatException("prev_mac is not 64 hex digits.");
        canonical.CopyTo(input.AsSpan(32));
        return Convert.ToHexStringLower(HMACSHA256.HashData(_chain, input));
    }

    /// <summary>
    /// HMAC-SHA256(head-note key, canonical note), lower-case hex. A key of its own, so a note
    /// (which leaves the machine and may sit in a syslog archive for years) can never be replayed
    /// as, or help forge, a chain MAC.
    /// </summary>
    public string HeadNoteMac(ReadOnlySpan<byte> canonical) => Convert.ToHexStringLower(HMACSHA256.HashData(_headNote, canonical));

    /// <summary>
    /// The keyed hash of a PatientID, after the normalization every lookup uses (trim, upper-case
    /// invariant), so "test-0001 " finds "TEST-0001". Without the key it cannot be reversed by
    /// trying likely IDs.
    /// </summary>
    public string PatientLookup(string patientId) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(_lookup, Encoding.UTF8.GetBytes(NormalizePatientId(patientId))));

    public static string NormalizePatientId(string patientId) => patientId.Trim().ToUpperInvariant();

    /// <summary>AES-256-GCM; output base64(12-byte nonce || ciphertext || 16-byte tag). <paramref name="context"/> is bound as associated data.</summary>
    public string Encrypt(string plaintext, string context)
    {
        var plain = Encoding.UTF8.GetBytes(plaintext);
        var output = new byte[12 + plain.Length + 16];
        var nonce = output.AsSpan(0, 12);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_fields, 16);
        aes.Encrypt(nonce, plain, output.AsSpan(12, plain.Length), output.AsSpan(12 + plain.Length), Encoding.UTF8.GetBytes(context));
        return Convert.ToBase64String(output);
    }

    /// <exception cref="CryptographicException">Wrong key, or the ciphertext or its context was changed.</exception>
    public string Decrypt(string ciphertext, string context)
    {
        var data = Convert.FromBase64String(ciphertext);
        if (data.Length < 28) throw new CryptographicException("ciphertext too short");
        var plain = new byte[data.Length - 28];
        using var aes = new AesGcm(_fields, 16);
        aes.Decrypt(data.AsSpan(0, 12), data.AsSpan(12, plain.Length), data.AsSpan(12 + plain.Length), plain, Encoding.UTF8.GetBytes(context));
        return Encoding.UTF8.GetString(plain);
    }

    private static bool TryHex(string hex, Span<byte> destination) =>
        hex.Length == destination.Length * 2 && Convert.FromHexString(hex, destination, out _, out var written) == System.Buffers.OperationStatus.Done && written == destination.Length;
}
