using System.Text.RegularExpressions;

namespace PhiMailGateway.Users;

/// <summary>
/// SMTP AUTH user names: 1–64 characters of <c>A-Z a-z 0-9 . _ @ + -</c>, compared
/// case-insensitively and stored lower-case, so "Frontdesk" and "frontdesk" are one account.
/// </summary>
public static partial class UserName
{
    public const string Rule = "a user name is 1 to 64 characters of letters A-Z, digits and . _ @ + -";

    public static bool TryNormalize(string? name, out string normalized)
    {
        normalized = string.Empty;
        if (name is null || !Allowed().IsMatch(name)) return false;
        normalized = name.ToLowerInvariant();
        return true;
    }

    /// <summary>The stored (lower-case) form; throws <see cref="ArgumentException"/> naming the rule otherwise.</summary>
    public static string Normalize(string? name, string paramName = "name") =>
        TryNormalize(name, out var normalized)
            ? normalized
            : throw new ArgumentException($"Invalid user name: {Rule}.", paramName);

    [GeneratedRegex(@"\A[A-Za-z0-9._@+\-]{1,64}\z", RegexOptions.CultureInvariant)]
    private static partial Regex Allowed();
}
