using System.Globalization;
using System.Security.Cryptography;

namespace PhiMailGateway.Users;

/// <summary>
/// Slow salted password hashes for SMTP AUTH accounts, stored as the self-describing string
/// <c>pbkdf2-sha256$&lt;iterations&gt;$&lt;salt base64&gt;$&lt;hash base64&gt;</c>, so the iteration count can be
/// raised later without breaking hashes already stored: <see cref="Verify"/> uses the count in the string.
/// </summary>
public static class PasswordHasher
{
    public const string Scheme = "pbkdf2-sha256";

    /// <summary>
    /// Iterations for new hashes: as many as keep one verify at a few tens of milliseconds on a small
    /// server, because every SMTP AUTH (and every AUTH against an unknown user) pays it once and
    /// must answer well under 100 ms (timings in bench/README.md).
    /// </summary>
    public const int DefaultIterations = 150_000;

    public const int SaltBytes = 16;
    public const int HashBytes = 32;

    // Bounds for hashes read back from storage: a corrupted or tampered row must neither pass with a
    // trivially weak count nor stall AUTH for minutes with an enormous one.
    internal const int MinIterations = 10_000;
    internal const int MaxIterations = 10_000_000;

    public static string Hash(string password) => Hash(password, DefaultIterations);

    public static string Hash(string password, int iterations)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, MinIterations);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(iterations, MaxIterations);
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return Format(iterations, salt, hash);
    }

    /// <summary>
    /// True when <paramref name="password"/> matches <paramref name="stored"/>. Never throws: a stored
    /// value that does not parse (wrong scheme, bad base64, out-of-range count) is simply false.
    /// The comparison is constant-time.
    /// </summary>
    public static bool Verify(string? password, string? stored)
    {
        if (password is null || !TryParse(stored, out var iterations, out var salt, out var expected)) return false;
        try
        {
            var actual = Rfc2898DeriveBytes.Pbkdf2(password, salt, iterations, HashAlgorithmName.SHA256, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            return false;
        }
    }

    /// <summary>True when <paramref name="stored"/> parses as a hash this class can check.</summary>
    public static bool IsWellFormed(string? stored) => TryParse(stored, out _, out _, out _);

    /// <summary>True when the stored hash uses a different scheme or iteration count than new hashes would.</summary>
    public static bool NeedsRehash(string? stored) =>
        !TryParse(stored, out var iterations, out _, out _) || iterations != DefaultIterations;

    internal static string Format(int iterations, byte[] salt, byte[] hash) =>
        string.Join('$', Scheme, iterations.ToString(CultureInfo.InvariantCulture), Convert.ToBase64String(salt), Convert.ToBase64String(hash));

    private static bool TryParse(string? stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = [];
        hash = [];
        if (string.IsNullOrEmpty(stored) || stored.Length > 512) return false;
        var parts = stored.Split('$');
        if (parts.Length != 4 || !string.Equals(parts[0], Scheme, StringComparison.Ordinal)) return false;
        if (!int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out iterations)
            || iterations is < MinIterations or > MaxIterations)
            return false;
        return TryDecode(parts[2], 8, 64, out salt) && TryDecode(parts[3], 16, 64, out hash);
    }

    private static bool TryDecode(string text, int minBytes, int maxBytes, out byte[] bytes)
    {
        bytes = [];
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written) || written < minBytes || written > maxBytes) return false;
        bytes = buffer[..written];
        return true;
    }
}
