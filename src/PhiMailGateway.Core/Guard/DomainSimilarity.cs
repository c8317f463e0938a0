using System.Text;

namespace PhiMailGateway.Guard;

/// <summary>
/// How close two domain names are as a person misreads or mistypes them: the edit distance with
/// transpositions (a typo), and the same letters once characters that look alike are read as one
/// (an <c>I</c> for an <c>l</c>, a Cyrillic <c>а</c> for a Latin <c>a</c>, <c>rn</c> for <c>m</c>).
/// </summary>
public static class DomainSimilarity
{
    /// <summary>
    /// The optimal-string-alignment Damerau-Levenshtein distance (insert, delete, substitute, swap
    /// two neighbours), or <paramref name="limit"/> + 1 once it is known to exceed the limit.
    /// </summary>
    public static int Distance(string a, string b, int limit)
    {
        if (Math.Abs(a.Length - b.Length) > limit) return limit + 1;
        // Three rows: the one before the previous is needed for transpositions.
        var before = new int[b.Length + 1];
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++) previous[j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMin = current[0];
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var d = Math.Min(Math.Min(previous[j] + 1, current[j - 1] + 1), previous[j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d = Math.Min(d, before[j - 2] + 1);
                current[j] = d;
                rowMin = Math.Min(rowMin, d);
            }
            if (rowMin > limit) return limit + 1;
            (before, previous, current) = (previous, current, before);
        }
        return Math.Min(previous[b.Length], limit + 1);
    }

    /// <summary>Domains grouped by <see cref="Skeleton"/>, so a confusable one is found by one look-up.</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> BySkeleton(IEnumerable<string> domains) =>
        domains.GroupBy(Skeleton, StringComparer.Ordinal).ToDictionary(g => g.Key, g => (IReadOnlyList<string>)g.ToList(), StringComparer.Ordinal);

    /// <summary>
    /// The domain with look-alike characters read as one: Unicode form (from <c>xn--</c>), accents
    /// removed, Cyrillic and Greek letters that look Latin made Latin, and <c>1 I i | l</c>,
    /// <c>0 o</c>, <c>rn m</c>, <c>vv w</c>, <c>cl d</c> each made one. Two different domains with
    /// the same skeleton are confusable.
    /// </summary>
    public static string Skeleton(string asciiDomain)
    {
        var unicode = GuardAddress.Unicode(asciiDomain);
        var text = new StringBuilder(unicode.Length);
        foreach (var raw in unicode)
        {
            var c = char.ToLowerInvariant(raw);
            var accent = AccentedLatin.IndexOf(c);
            if (accent >= 0) c = PlainLatin[accent];
            text.Append(Confusables.TryGetValue(c, out var latin) ? latin : c);
        }
        return text.ToString().Replace("rn", "m", StringComparison.Ordinal).Replace("vv", "w", StringComparison.Ordinal)
            .Replace("cl", "d", StringComparison.Ordinal);
    }

    // Latin letters with accents and their plain letter, position for position (the gateway runs
    // with invariant globalization, where Unicode decomposition is not available).
    private const string AccentedLatin = "ßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿāăąćĉċčďđēĕėęěĝğġģĥħĩīĭįĵķĺļľłńņňōŏőœŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳ";
    private const string PlainLatin = "saaaaaaaceeeeiiiinoooooouuuuyyaaaccccddeeeeegggghhiiiijkllllnnnoooorrrssssttuuuuuuwyzzzouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooy";

    // Letters and digits that render like another in common mail fonts (after lower-casing).
    private static readonly Dictionary<char, char> Confusables = new()
    {
        ['1'] = 'l', ['i'] = 'l', ['|'] = 'l', ['ı'] = 'l', ['0'] = 'o',
        // Cyrillic
        ['а'] = 'a', ['в'] = 'b', ['с'] = 'c', ['ԁ'] = 'd', ['е'] = 'e', ['һ'] = 'h', ['і'] = 'l', ['ј'] = 'j',
        ['к'] = 'k', ['м'] = 'm', ['н'] = 'h', ['о'] = 'o', ['р'] = 'p', ['ԛ'] = 'q', ['ѕ'] = 's', ['т'] = 't',
        ['у'] = 'y', ['х'] = 'x', ['ԝ'] = 'w', ['ӏ'] = 'l',
        // Greek
        ['α'] = 'a', ['β'] = 'b', ['ε'] = 'e', ['η'] = 'n', ['ι'] = 'l', ['κ'] = 'k', ['ν'] = 'v', ['ο'] = 'o',
        ['ρ'] = 'p', ['τ'] = 't', ['υ'] = 'u', ['χ'] = 'x', ['ω'] = 'w',
    };
}
