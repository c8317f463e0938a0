using System.Security.Cryptography;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Each package has its own random AES-256 key, stored only wrapped (AES-GCM) under a key the master
/// key derives for this purpose alone, bound to the package id. The row keeps the master key's id,
/// so a package wrapped under another master key is refused by name instead of failing as tampered.
/// Forgetting the wrapped key (purge) makes the content unrecoverable.
/// </summary>
public sealed class PackageKeyWrap(MasterKey masterKey)
{
    private const string Purpose = "pickup-key-wrap/v1";
    private readonly byte[] _wrapKey = masterKey.Derive(Purpose);

    /// <summary>Id of the master key that wraps new packages' keys.</summary>
    public string KeyId => masterKey.KeyId;

    public static byte[] NewPackageKey() => RandomNumberGenerator.GetBytes(PackageCipher.KeySize);

    public byte[] Wrap(string packageId, byte[] packageKey) => PackageCipher.SealSmall(_wrapKey, packageKey, Aad(packageId));

    /// <summary>The package's key (the caller zeroes it after use); null once purged.</summary>
    public byte[]? Unwrap(PickupPackage package)
    {
        if (package.WrappedKey is null) return null;
        if (package.KeyId != masterKey.KeyId)
            throw new CryptographicException($"Package {package.PackageId} was wrapped under master key {package.KeyId}, not the current {masterKey.KeyId}.");
        return PackageCipher.OpenSmall(_wrapKey, package.WrappedKey, Aad(package.PackageId));
    }

    private static string Aad(string packageId) => $"PhiMailGateway pickup key v1|{packageId}";
}
