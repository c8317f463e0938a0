using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The random values of the pickup flow. Link tokens and session ids are 256 random bits in
/// base64url; only their SHA-256 is stored, so a copy of the database opens nothing. Codes are six
/// digits, stored as HMAC(salt || package || code) under a key derived from the master key, so a
/// stolen database alone cannot be brute-forced over the million possible codes.
/// </summary>
public static class PickupSecrets
{
    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    public static string NewPackageId() => "pk_" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8)).ToLowerInvariant();

    public static string NewCode() => RandomNumberGenerator.GetInt32(0, 1_000_000).ToString("D6", CultureInfo.InvariantCulture);

    public static string Hash(string secret) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(secret))).ToLowerInvariant();

    /// <summary>Constant-time comparison of two hex hashes.</summary>
    public static bool HashEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a), Encoding.ASCII.GetBytes(b));

    public static byte[] CodeHash(byte[] macKey, byte[] salt, string packageId, string code)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, macKey);
        hmac.AppendData(salt);
        hmac.AppendData(Encoding.UTF8.GetBytes(packageId + "\n" + code));
        return hmac.GetHashAndReset();
    }

    /// <summary>A token as it can appear in a link: 43 base64url characters.</summary>
    public static bool LooksLikeToken(string? value) =>
        value is { Length: 43 } && value.All(c => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_');

    /// <summary>What the recipient typed, reduced to digits (phones paste "123 456").</summary>
    public static string? NormalizeCode(string? value)
    {
        if (value is null) return null;
        var digits = new string(value.Where(c => c is not (' ' or '-')).ToArray());
        return digits.Length == 6 && digits.All(char.IsAsciiDigit) ? digits : null;
    }

    public static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
