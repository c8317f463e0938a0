using System.Security.Cryptography;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// How a package's files and their names are sealed under the package key: the associated data
/// binds each to its package and position, so a file or name moved to another package or index
/// fails authentication. The chunked file format itself is <see cref="PackageCipher"/>'s.
/// </summary>
public static class PackageFileCipher
{
    /// <summary>
    /// Encrypts the source into <paramref name="output"/>, the plaintext streamed straight into the
    /// cipher. The SHA-256 returned is the one inspection took of the same decoded bytes when the
    /// source brings it (checked against the length); otherwise it is computed on the way.
    /// </summary>
    public static async Task<(long Length, string Sha256)> SealAsync(PackageSource source, Stream output, byte[] key, string packageId, int index,
        CancellationToken cancellationToken)
    {
        var known = source.Inspected;
        long length;
        await using (var sealing = await PackageCipher.OpenWriteAsync(output, key, FileAad(packageId, index), hashPlaintext: known is null, cancellationToken))
        {
            await source.WriteTo(sealing, cancellationToken);
            await sealing.CompleteAsync(cancellationToken);
            if (known is null) return (sealing.Length, sealing.Sha256!);
            if (sealing.Length == known.Value.Length) return (sealing.Length, known.Value.Sha256);
            length = sealing.Length;
        }
        // Inspection read other bytes than these: never record its hash for them.
        using var sha = SHA256.Create();
        await using (var hashing = new CryptoStream(Stream.Null, sha, CryptoStreamMode.Write))
            await source.WriteTo(hashing, cancellationToken);
        return (length, Convert.ToHexStringLower(sha.Hash!));
    }

    /// <summary>Plaintext of one file, decrypted chunk by chunk as it is read.</summary>
    public static PackageDecryptStream OpenRead(string path, byte[] key, string packageId, int index) =>
        PackageCipher.OpenRead(path, key, FileAad(packageId, index));

    public static byte[] SealName(byte[] key, string name, string packageId, int index) =>
        PackageCipher.SealSmall(key, Encoding.UTF8.GetBytes(name), NameAad(packageId, index));

    public static string OpenName(byte[] key, byte[] sealedName, string packageId, int index) =>
        Encoding.UTF8.GetString(PackageCipher.OpenSmall(key, sealedName, NameAad(packageId, index)));

    private static string FileAad(string packageId, int index) => $"PhiMailGateway pickup file v1|{packageId}|{index}";
    private static string NameAad(string packageId, int index) => $"PhiMailGateway pickup name v1|{packageId}|{index}";
}
