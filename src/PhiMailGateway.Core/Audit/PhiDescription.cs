using System.Globalization;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Audit;

/// <summary>
/// The "brief description of the PHI disclosed" (164.528(b)(2)(iii)) in stored form: how many
/// protected parts, their kinds, and per part kind|format|size|sha256 (parts separated by ';').
/// No file names: they often carry the patient's name.
/// </summary>
public sealed record PhiDescription(int Count, string Kinds, string Parts)
{
    public static PhiDescription Of(InspectionReport? report)
    {
        if (report is null) return new PhiDescription(0, "", "");
        var parts = report.Findings.Where(f => f.IsProtected).ToList();
        return new PhiDescription(
            parts.Count,
            string.Join(',', report.Kinds),
            string.Join(';', parts.Select(f => string.Create(CultureInfo.InvariantCulture, $"{f.Kind}|{Sanitize(f.Format)}|{f.Size}|{f.Sha256 ?? "-"}"))));
    }

    /// <summary>For the accounting: "2 dental image(s): Dicom (DICOM, 1234 bytes, SHA-256 ab12…); …" or "no dental images".</summary>
    public static string Render(long count, string parts)
    {
        if (count == 0) return "no dental images";
        var rendered = parts.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var f = p.Split('|');
            return f.Length == 4 ? $"{f[0]} ({f[1]}, {f[2]} bytes, SHA-256 {f[3]})" : p;
        });
        return $"{count} dental image(s): {string.Join("; ", rendered)}";
    }

    private static string Sanitize(string format) => format.Replace('|', '/').Replace(';', ',');
}
