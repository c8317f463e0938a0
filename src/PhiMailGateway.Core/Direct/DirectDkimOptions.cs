using System.Security.Cryptography;

namespace PhiMailGateway.Direct;

/// <summary>
/// Section <c>Direct:Dkim</c>: the key directly delivered mail is signed with. Recipients' servers
/// check SPF and DKIM against the sender's domain (DMARC); a practice's mail that arrives from a
/// host of its own, unsigned, is what phishing looks like. All three keys or none: with none,
/// direct mail goes out unsigned and start-up says so.
/// </summary>
public sealed record DirectDkimOptions
{
    /// <summary>The signing domain (<c>d=</c>): the practice's mail domain, or a parent of the senders' domains.</summary>
    public string? Domain { get; init; }

    /// <summary>The selector (<c>s=</c>): the public key is published at <c>{Selector}._domainkey.{Domain}</c>.</summary>
    public string? Selector { get; init; }

    /// <summary>PEM file of the RSA private key (PKCS#1 or PKCS#8), owner-only; <c>dkim keygen</c> writes it.</summary>
    public string? KeyPath { get; init; }

    /// <summary>Below this a key is refused (RFC 8301: verifiers must not accept smaller ones).</summary>
    public const int MinimumKeyBits = 1024;

    public const int RecommendedKeyBits = 2048;

    public bool IsConfigured => !string.IsNullOrWhiteSpace(Domain) || !string.IsNullOrWhiteSpace(Selector) || !string.IsNullOrWhiteSpace(KeyPath);

    public string NormalizedDomain => (Domain ?? string.Empty).Trim().TrimEnd('.').ToLowerInvariant();

    public string NormalizedSelector => (Selector ?? string.Empty).Trim().ToLowerInvariant();

    /// <summary>The TXT record's name: <c>{selector}._domainkey.{domain}</c>.</summary>
    public static string RecordName(string selector, string domain) => $"{selector}._domainkey.{domain}";

    /// <summary>Every problem with the three keys, one line each, naming the key; empty when none is set or all are valid.</summary>
    public IEnumerable<string> Validate()
    {
        if (!IsConfigured) yield break;
        if (string.IsNullOrWhiteSpace(Domain) || string.IsNullOrWhiteSpace(Selector) || string.IsNullOrWhiteSpace(KeyPath))
        {
            var missing = new[] { ("Domain", Domain), ("Selector", Selector), ("KeyPath", KeyPath) }
                .Where(k => string.IsNullOrWhiteSpace(k.Item2)).Select(k => "Direct:Dkim:" + k.Item1);
            yield return $"Direct:Dkim: set Domain, Selector and KeyPath together, or none of them (missing {string.Join(", ", missing)}).";
            yield break;
        }
        if (DomainError(Domain) is { } domain) yield return domain;
        if (SelectorError(Selector) is { } selector) yield return selector;
        if (DkimKeyFile.Check(KeyPath.Trim()) is { } key) yield return $"Direct:Dkim:KeyPath: {key}";
    }

    public static string? DomainError(string? value)
    {
        var domain = (value ?? string.Empty).Trim().TrimEnd('.');
        return Uri.CheckHostName(domain) == UriHostNameType.Dns && domain.Contains('.', StringComparison.Ordinal)
            ? null
            : $"Direct:Dkim:Domain: must be a domain name such as smiledental.example (got '{value}').";
    }

    public static string? SelectorError(string? value)
    {
        // One DNS label (RFC 6376 3.1 allows dotted selectors; one label is what every provider publishes).
        var selector = (value ?? string.Empty).Trim();
        var label = selector.Length is >= 1 and <= 63
                    && selector.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')
                    && selector[0] != '-' && selector[^1] != '-';
        return label ? null : $"Direct:Dkim:Selector: must be one DNS label (letters, digits, inner hyphens; at most 63), such as mail2026 (got '{value}').";
    }
}

/// <summary>The signing key file: an owner-only PEM RSA private key of at least 1024 bits.</summary>
public static class DkimKeyFile
{
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>What is wrong with the key file, or null when it can sign.</summary>
    public static string? Check(string path)
    {
        if (!File.Exists(path)) return $"file not found ('{path}'); `dkim keygen --selector S` writes one.";
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(path) & GroupOrOther) != 0)
            return $"'{path}' is readable by others (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}); the signing key must be owner-only: chmod 600.";
        try
        {
            using var rsa = Load(path);
            return rsa.KeySize < DirectDkimOptions.MinimumKeyBits
                ? $"'{path}' is a {rsa.KeySize}-bit key; at least {DirectDkimOptions.MinimumKeyBits} bits ({DirectDkimOptions.RecommendedKeyBits} recommended)."
                : null;
        }
        catch (UnauthorizedAccessException)
        {
            return $"'{path}' cannot be read by the gateway's user.";
        }
        catch (Exception e) when (e is IOException or CryptographicException or ArgumentException or FormatException)
        {
            return $"'{path}' is not an RSA private key in PEM (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY): {Reason(e)}";
        }
    }

    /// <summary>The RSA private key in the PEM file: PKCS#1 (<c>RSA PRIVATE KEY</c>) or unencrypted PKCS#8 (<c>PRIVATE KEY</c>).</summary>
    public static RSA Load(string path)
    {
        var pem = File.ReadAllText(path);
        var found = PemEncoding.TryFind(pem, out var fields) ? pem[fields.Label] : null;
        // ImportFromPem takes public keys too; a public key cannot sign, so look at the label first.
        if (found is not ("RSA PRIVATE KEY" or "PRIVATE KEY"))
            throw new FormatException(found is null ? "no PEM block found" : $"found '{found}'");
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem[fields.Location]);
            return rsa;
        }
        catch
        {
            rsa.Dispose();
            throw;
        }
    }

    private static string Reason(Exception e) => e is FormatException ? e.Message : "the key does not parse";
}
