using System.Globalization;

namespace PhiMailGateway.Direct;

public enum MtaStsMode
{
    /// <summary>MX hosts must match the policy and present a PKIX-valid certificate; otherwise the copy is not sent to them.</summary>
    Enforce,

    /// <summary>The domain tries the policy out: failures are reported, nothing is enforced.</summary>
    Testing,

    /// <summary>The domain withdrew its policy.</summary>
    None,
}

/// <summary>
/// A domain's MTA-STS policy (RFC 8461 3.2), as fetched from
/// <c>https://mta-sts.&lt;domain&gt;/.well-known/mta-sts.txt</c>, with the TXT record id it was fetched under.
/// </summary>
public sealed record MtaStsPolicy(string Domain, string Id, MtaStsMode Mode, IReadOnlyList<string> Mx, TimeSpan MaxAge, DateTimeOffset FetchedAt)
{
    /// <summary>RFC 8461 3.2: max_age is at most 31557600 seconds (about a year).</summary>
    public static readonly TimeSpan LongestMaxAge = TimeSpan.FromSeconds(31_557_600);

    public DateTimeOffset ExpiresAt => FetchedAt + MaxAge;

    public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;

    /// <summary>
    /// Whether an MX host name matches one of the policy's <c>mx</c> patterns: exactly, or
    /// <c>*.example.net</c> standing for one leftmost label (RFC 8461 4.1), case-insensitive.
    /// </summary>
    public bool Allows(string host)
    {
        var name = host.Trim().TrimEnd('.').ToLowerInvariant();
        foreach (var pattern in Mx)
        {
            var p = pattern.Trim().TrimEnd('.').ToLowerInvariant();
            if (p.StartsWith("*.", StringComparison.Ordinal))
            {
                var dot = name.IndexOf('.');
                if (dot > 0 && name[(dot + 1)..] == p[2..]) return true;
            }
            else if (name == p)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Parses a policy body; null with the reason when it is not a valid STSv1 policy.</summary>
    public static MtaStsPolicy? Parse(string domain, string id, string body, DateTimeOffset fetchedAt, out string? error)
    {
        string? version = null, mode = null, maxAge = null;
        var mx = new List<string>();
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                error = "a line is not 'key: value'";
                return null;
            }
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "version": version ??= value; break;
                case "mode": mode ??= value; break;
                case "max_age": maxAge ??= value; break;
                case "mx": mx.Add(value); break;
                // RFC 8461 3.2: unknown fields are ignored.
            }
        }
        error = null;
        MtaStsMode? parsedMode = mode switch
        {
            "enforce" => MtaStsMode.Enforce,
            "testing" => MtaStsMode.Testing,
            "none" => MtaStsMode.None,
            _ => null,
        };
        if (version != "STSv1") error = "version is not STSv1";
        else if (parsedMode is null) error = "mode is not enforce, testing or none";
        else if (!long.TryParse(maxAge, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || maxAge!.Length > 10)
            error = "max_age is not a whole number of seconds";
        else if (parsedMode != MtaStsMode.None && mx.Count == 0)
            error = "no mx patterns";
        else
        {
            var age = TimeSpan.FromSeconds(Math.Min(seconds, (long)LongestMaxAge.TotalSeconds));
            return new MtaStsPolicy(domain, id, parsedMode.Value, mx, age, fetchedAt);
        }
        return null;
    }

    /// <summary>
    /// The id of a <c>_mta-sts</c> TXT record (<c>v=STSv1; id=20160831085700Z;</c>), or null when the
    /// record is not one (RFC 8461 3.1: v=STSv1 first, id 1 to 32 letters and digits).
    /// </summary>
    public static string? RecordId(string txt)
    {
        var fields = txt.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length == 0 || fields[0] != "v=STSv1") return null;
        foreach (var field in fields.Skip(1))
        {
            if (!field.StartsWith("id=", StringComparison.Ordinal)) continue;
            var id = field[3..];
            return id.Length is >= 1 and <= 32 && id.All(char.IsAsciiLetterOrDigit) ? id : null;
        }
        return null;
    }
}
