using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace PhiMailGateway.Audit;

/// <summary>
/// The accounting as CSV (RFC 4180) or JSON, the same columns in both. CSV is for the privacy
/// officer's spreadsheet: UTF-8 with a byte-order mark (so Excel reads names right), times as
/// <c>yyyy-MM-dd HH:mm:ss</c> in UTC (which spreadsheets read as dates), birth dates as
/// <c>yyyy-MM-dd</c>, names as people write them. JSON keeps ISO 8601 times.
/// </summary>
public static class AccountingWriter
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "date", "recipient_name", "recipient_address", "description", "purpose", "method", "first_delivered", "first_opened", "downloads",
        "outcome", "outcome_at", "patient_id", "patient_name", "patient_birth_date", "rule", "sender", "authenticated_user", "message_id", "queue_id",
        "delivery_id", "seq", "guard",
    ];

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string SheetTime(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "";

    private static string Joined(IEnumerable<string?> values) => string.Join("; ", values.Select(v => v ?? ""));

    private static IReadOnlyList<string> Cells(AccountingEntry e) =>
    [
        SheetTime(e.Date), e.RecipientName, e.RecipientAddress, e.Description, e.Purpose, e.Method, SheetTime(e.FirstDeliveredAt), SheetTime(e.FirstOpenedAt),
        e.Downloads.ToString(CultureInfo.InvariantCulture), e.Outcome, SheetTime(e.OutcomeAt),
        Joined(e.Patients.Select(p => p.PatientId)), Joined(e.Patients.Select(p => DicomText.PersonName(p.PatientName))), Joined(e.Patients.Select(p => DicomText.Date(p.BirthDate))),
        e.Rule ?? "", e.Sender, e.AuthenticatedUser ?? "", e.MessageId ?? "", e.QueueId, e.DeliveryId ?? "", e.Seq.ToString(CultureInfo.InvariantCulture), e.Guard,
    ];

    /// <summary>Byte-order mark, header row, then one row per disclosure; CRLF line ends; fields quoted when they need it.</summary>
    public static async Task WriteCsvAsync(IEnumerable<AccountingEntry> entries, TextWriter writer)
    {
        await writer.WriteAsync('\uFEFF');
        await writer.WriteAsync(CsvRow(Columns));
        foreach (var entry in entries) await writer.WriteAsync(CsvRow(Cells(entry)));
    }

    public static string CsvRow(IEnumerable<string> cells) => string.Join(',', cells.Select(CsvField)) + "\r\n";

    /// <summary>
    /// One RFC 4180 field. A cell a spreadsheet would read as a formula (starting with = + - @, tab
    /// or CR) gets a leading apostrophe first: a patient name such as <c>=HYPERLINK(…)</c> comes from
    /// a DICOM header anyone can write, and must not run in the practice's spreadsheet.
    /// </summary>
    public static string CsvField(string value)
    {
        if (value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r') value = "'" + value;
        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        // A file for people and tools, not HTML: keep non-ASCII names readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static readonly IReadOnlyList<string> GuardColumns = ["date", "decision", "queue_id", "recipient", "detail", "seq"];

    private static IReadOnlyList<string> Cells(GuardDecisionEntry e) =>
        [SheetTime(e.Date), e.Decision, e.QueueId, e.Recipient, e.Detail, e.Seq.ToString(CultureInfo.InvariantCulture)];

    /// <summary>`audit export --guard`: as the disclosures' CSV (BOM, CRLF, neutralised cells), one row per decision.</summary>
    public static async Task WriteCsvAsync(IEnumerable<GuardDecisionEntry> entries, TextWriter writer)
    {
        await writer.WriteAsync('\uFEFF');
        await writer.WriteAsync(CsvRow(GuardColumns));
        foreach (var entry in entries) await writer.WriteAsync(CsvRow(Cells(entry)));
    }

    public static async Task WriteJsonAsync(IEnumerable<GuardDecisionEntry> entries, TextWriter writer)
    {
        var objects = entries.Select(e => new Dictionary<string, object?>
        {
            ["date"] = Time(e.Date), ["decision"] = e.Decision, ["queue_id"] = e.QueueId, ["recipient"] = e.Recipient, ["detail"] = e.Detail, ["seq"] = e.Seq,
        });
        await writer.WriteAsync(JsonSerializer.Serialize(objects, JsonOptions));
        await writer.WriteLineAsync();
    }

    /// <summary>An array of objects with the CSV's columns, patients as an array of objects.</summary>
    public static async Task WriteJsonAsync(IEnumerable<AccountingEntry> entries, TextWriter writer)
    {
        var objects = entries.Select(e => new Dictionary<string, object?>
        {
            ["date"] = Time(e.Date),
            ["recipient_name"] = e.RecipientName,
            ["recipient_address"] = e.RecipientAddress,
            ["description"] = e.Description,
            ["purpose"] = e.Purpose,
            ["method"] = e.Method,
            ["first_delivered"] = e.FirstDeliveredAt is { } d ? Time(d) : null,
            ["first_opened"] = e.FirstOpenedAt is { } o ? Time(o) : null,
            ["downloads"] = e.Downloads,
            ["outcome"] = e.Outcome,
            ["outcome_at"] = e.OutcomeAt is { } at ? Time(at) : null,
            ["patients"] = e.Patients.Select(p => new Dictionary<string, string?>
            {
                ["patient_id"] = p.PatientId,
                ["patient_name"] = DicomText.PersonName(p.PatientName),
                ["patient_birth_date"] = DicomText.Date(p.BirthDate),
            }).ToList(),
            ["rule"] = e.Rule,
            ["sender"] = e.Sender,
            ["authenticated_user"] = e.AuthenticatedUser,
            ["message_id"] = e.MessageId,
            ["queue_id"] = e.QueueId,
            ["delivery_id"] = e.DeliveryId,
            ["seq"] = e.Seq,
            ["guard"] = e.Guard,
        }).ToList();
        await writer.WriteAsync(JsonSerializer.Serialize(objects, JsonOptions));
        await writer.WriteAsync('\n');
    }
}
