using System.Globalization;

namespace PhiMailGateway.Guard;

/// <summary>Addresses as the guard compares them: lower case, the domain in its ASCII (<c>xn--</c>) form.</summary>
public static class GuardAddress
{
    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    /// <summary>The domain lower-cased in ASCII form, or null when it is not a domain name.</summary>
    public static string? NormalizeDomain(string? domain)
    {
        var d = domain?.Trim().TrimEnd('.');
        if (string.IsNullOrEmpty(d) || d.Contains('@') || d.Length > 253) return null;
        try
        {
            var ascii = Idn.GetAscii(d).ToLowerInvariant();
            return ascii.Contains('.') ? ascii : null;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>Splits an address into its local part (lower case) and normalised domain; null when it has no domain.</summary>
    public static (string Local, string Domain)? Split(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1) return null;
        var domain = NormalizeDomain(address[(at + 1)..]);
        return domain is null ? null : (address[..at].ToLowerInvariant(), domain);
    }

    /// <summary>The domain as people read it (Unicode), for the comparison of look-alike characters.</summary>
    public static string Unicode(string asciiDomain)
    {
        try
        {
            return Idn.GetUnicode(asciiDomain);
        }
        catch (ArgumentException)
        {
            return asciiDomain;
        }
    }
}
