using System.Globalization;
using System.Text;

namespace PhiMailGateway.Audit.HeadNotes;

/// <summary>
/// One line that says "the chain had record <see cref="Seq"/> with MAC <see cref="Hash"/> at
/// <see cref="At"/>", shipped off the machine (syslog, a mail to the privacy officer), so that
/// someone who cuts the newest records and rewrites head.log to match still disagrees with a copy
/// they cannot reach. <see cref="Mac"/> is keyed with the audit's head-note key, so a note nobody
/// with the master key wrote is refused. It carries ids and hashes only: no PHI.
/// <para>
/// Text form, one line, found anywhere inside a longer line (a syslog extract keeps its prefix):
/// <c>phimail-audit-head/v1 node=NODE seq=N hash=HEX64 at=yyyy-MM-ddTHH:mm:ssZ mac=HEX64</c>.
/// </para>
/// </summary>
public sealed record AuditHeadNote(string Node, long Seq, string Hash, DateTimeOffset At, string Mac)
{
    public const string Marker = "phimail-audit-head/v1";

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    /// <summary>A signed note of <paramref name="head"/>; whitespace in the node name would split the line, so it becomes '_'.</summary>
    public static AuditHeadNote Create(AuditKeys keys, string node, ChainHead head, DateTimeOffset at)
    {
        var cleanNode = new string(node.Select(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '=' ? '_' : c).ToArray());
        var seconds = DateTimeOffset.FromUnixTimeSeconds(at.ToUnixTimeSeconds());
        var unsigned = new AuditHeadNote(cleanNode, head.Seq, head.Mac, seconds, "");
        return unsigned with { Mac = keys.HeadNoteMac(unsigned.Canonical()) };
    }

    /// <summary>True when <see cref="Mac"/> was made with this master key for exactly these fields.</summary>
    public bool IsAuthentic(AuditKeys keys) =>
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            Encoding.ASCII.GetBytes(keys.HeadNoteMac(Canonical())), Encoding.ASCII.GetBytes(Mac));

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Marker} node={Node} seq={Seq} hash={Hash} at={At.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)} mac={Mac}");

    private byte[] Canonical() =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{Marker}\n{Node}\n{Seq}\n{Hash}\n{At.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture)}"));

    /// <summary>
    /// Finds the note in <paramref name="line"/>. Null when the line has no marker (other syslog
    /// traffic); a <see cref="FormatException"/> when it has one but the rest does not parse, so a
    /// damaged note is reported rather than skipped.
    /// </summary>
    public static AuditHeadNote? Find(string line)
    {
        var start = line.IndexOf(Marker, StringComparison.Ordinal);
        if (start < 0) return null;
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var token in line[(start + Marker.Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new FormatException($"head note field '{token}' is not name=value");
            if (!fields.TryAdd(token[..eq], token[(eq + 1)..])) throw new FormatException($"head note field '{token[..eq]}' appears twice");
        }
        string Field(string name) => fields.TryGetValue(name, out var v) && v.Length > 0 ? v : throw new FormatException($"head note has no {name}=");
        var node = Field("node");
        if (!long.TryParse(Field("seq"), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
            throw new FormatException($"head note seq '{fields["seq"]}' is not a number");
        var hash = Field("hash");
        if (!IsHex64(hash)) throw new FormatException("head note hash is not 64 lower-case hex digits");
        if (!DateTime.TryParseExact(Field("at"), TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var at))
            throw new FormatException($"head note at '{fields["at"]}' is not a UTC time ({TimeFormat})");
        var mac = Field("mac");
        if (!IsHex64(mac)) throw new FormatException("head note mac is not 64 lower-case hex digits");
        return new AuditHeadNote(node, seq, hash, new DateTimeOffset(at, TimeSpan.Zero), mac);
    }

    private static bool IsHex64(string value) => value.Length == 64 && value.All(char.IsAsciiHexDigitLower);
}
