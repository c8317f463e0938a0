using System.Security.Cryptography;
using System.Text;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Storage;

/// <summary>
/// The gateway master key: 32 random bytes in <c>Gateway:MasterKeyPath</c> (default
/// <c>&lt;data&gt;/keys/master.key</c>), created on first use with owner-only permissions. Nothing is
/// encrypted with it directly: each use derives its own key with HKDF-SHA256 and a purpose label
/// (pickup key wrapping, audit field encryption, patient lookup MAC), so one use can never be
/// turned against another. <see cref="KeyId"/> is stored beside whatever a derived key protects,
/// so a later key rotation knows which key to use for old data.
/// </summary>
public sealed class MasterKey
{
    public const int KeySize = 32;

    private readonly byte[] _key;

    private MasterKey(byte[] key)
    {
        _key = key;
        KeyId = Convert.ToHexString(SHA256.HashData(key).AsSpan(0, 8)).ToLowerInvariant();
    }

    /// <summary>A fingerprint of the key (not the key): 16 hex digits of its SHA-256.</summary>
    public string KeyId { get; }

    public static string DefaultPath(GatewayOptions options) =>
        options.MasterKeyPath is { Length: > 0 } path ? Path.GetFullPath(path) : Path.Combine(options.FullDataDirectory, "keys", "master.key");

    public static MasterKey LoadOrCreate(GatewayOptions options) => LoadOrCreate(DefaultPath(options));

    public static MasterKey LoadOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            OwnerOnly.CreateDirectory(Path.GetDirectoryName(path)!);
            var fresh = RandomNumberGenerator.GetBytes(KeySize);
            var temp = path + ".tmp-" + Environment.ProcessId;
            using (var file = OwnerOnly.CreateNew(temp, 1))
            {
                file.Write(fresh);
                file.Flush(flushToDisk: true);
            }
            try
            {
                // No overwrite: if another process (a CLI verb beside `serve`) won the race, use its key.
                File.Move(temp, path, overwrite: false);
                DirectorySync.Flush(Path.GetDirectoryName(path)!);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temp);
            }
        }
        var key = File.ReadAllBytes(path);
        if (key.Length != KeySize)
            throw new InvalidDataException($"Gateway:MasterKeyPath: '{path}' must hold exactly {KeySize} bytes (found {key.Length}); restore it from backup.");
        return new MasterKey(key);
    }

    /// <summary>A key for one purpose, e.g. "audit-field-encryption/v1".</summary>
    public byte[] Derive(string purpose, int length = 32) =>
        HKDF.DeriveKey(HashAlgorithmName.SHA256, _key, length, salt: [], info: Encoding.UTF8.GetBytes("PhiMailGateway/" + purpose));
}
