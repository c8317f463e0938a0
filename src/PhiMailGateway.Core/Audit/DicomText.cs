using System.Globalization;

namespace PhiMailGateway.Audit;

/// <summary>DICOM values as people write them, for the accounting of disclosures.</summary>
public static class DicomText
{
    /// <summary>
    /// A person name (PN: <c>Family^Given^Middle^Prefix^Suffix</c>, then optional <c>=</c> groups for
    /// ideographic and phonetic forms) in reading order: <c>Doe^Jane^^Dr</c> becomes <c>Dr Jane Doe</c>.
    /// Values that are not in PN form come back as they are.
    /// </summary>
    public static string? PersonName(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return value;
        // The first component group that is in PN form; a value that is not PN at all stays as written.
        var alphabetic = value.Split('=').FirstOrDefault(g => g.Contains('^', StringComparison.Ordinal));
        if (alphabetic is null) return value.Trim();
        var c = alphabetic.Split('^');
        string Part(int i) => i < c.Length ? c[i].Trim() : "";
        var words = new[] { Part(3), Part(1), Part(2), Part(0), Part(4) }.Where(w => w.Length > 0);
        return string.Join(' ', words);
    }

    /// <summary>A date (DA: <c>YYYYMMDD</c>) as <c>yyyy-MM-dd</c>, which a spreadsheet reads as a date, not a number.</summary>
    public static string? Date(string? value) =>
        value is { Length: 8 } && DateTime.TryParseExact(value, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
            ? day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : value;
}
