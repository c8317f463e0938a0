using System.Globalization;
using System.Security.Cryptography;
using PhiMailGateway.Audit;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>audit verify</c>: recompute the MAC chain and compare it with the head file and any head notes shipped off the machine (exit 0 and the
/// counts when intact, 1 and the first bad record when not). <c>audit export</c>: the HIPAA
/// accounting of disclosures as CSV or JSON on stdout.
/// </summary>
internal static class AuditCommand
{
    private const string VerifyUsage = "audit verify [--head-note \"NOTE\"]... [--head-notes FILE]...";
    private const string ExportUsage = "audit export [--since DATE] [--until DATE] [--patient ID] [--recipient ADDR] [--format csv|json] [--include-gateway-mail] [--guard]";

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        var sub = args.FirstOrDefault();
        AccountingQuery? query = null;
        var format = "csv";
        IReadOnlyList<PhiMailGateway.Audit.HeadNotes.AuditHeadNote> notes = [];
        switch (sub)
        {
            case "verify":
                if (ParseVerify(args.Skip(1).ToArray(), out notes) is { } verifyError)
                    return GatewayCommandLine.Usage(stderr, 2, $"audit verify: {verifyError} Usage: {VerifyUsage}");
                break;
            case "export":
                if (ParseExport(args.Skip(1).ToArray(), out query, out format) is { } error)
                    return GatewayCommandLine.Usage(stderr, 2, $"audit export: {error} Usage: {ExportUsage}");
                break;
            default:
                return GatewayCommandLine.Usage(stderr, 2, "audit: expected `" + VerifyUsage + "` or `" + ExportUsage + "`.");
        }

        await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Audit, b => b.AddAudit());
        var keyPath = MasterKey.DefaultPath(context.Gateway);
        if (!File.Exists(keyPath))
        {
            // Creating a new key here would make every record look forged.
            await stderr.WriteLineAsync($"audit {sub}: the master key '{keyPath}' (Gateway:MasterKeyPath) does not exist; the audit log cannot be checked or read without it.");
            return 1;
        }
        try
        {
            await context.Database().MigrateAsync(CancellationToken.None);
            return sub == "verify"
                ? await VerifyAsync(context.Get<AuditVerifier>(), context.Get<AuditHeadFile>(), notes, stdout)
                : await ExportAsync(context.Get<AccountingExport>(), query! with { GatewaySenders = GatewaySenders(context) }, format, stdout);
        }
        catch (CryptographicException e)
        {
            await stderr.WriteLineAsync($"audit {sub}: cannot decrypt patient fields: {e.Message}");
            return 1;
        }
        catch (Exception e) when (e is StorageException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"audit {sub}: cannot read the audit log in '{context.Database().Location}': {e.Message}");
            return 1;
        }
    }

    private static async Task<int> VerifyAsync(AuditVerifier verifier, AuditHeadFile headFile,
        IReadOnlyList<PhiMailGateway.Audit.HeadNotes.AuditHeadNote> notes, TextWriter stdout)
    {
        var result = await verifier.VerifyAsync(CancellationToken.None, notes);
        if (result.Ok)
        {
            await stdout.WriteLineAsync($"Audit log intact: {result.Disclosures} disclosure records and {result.Events} events ({result.IntactRecords} records in the chain).");
            await stdout.WriteLineAsync($"Head file {headFile.Path} notes seq {result.AnchoredSeq}.");
            if (notes.Count > 0)
                await stdout.WriteLineAsync($"{result.HeadNotesMatched} shipped head note(s) checked: signatures valid, every noted record present with the same MAC (newest noted seq {notes.Max(n => n.Seq)}).");
            if (result.Unanchored > 0)
                await stdout.WriteLineAsync($"{result.Unanchored} newest record(s) not yet anchored in the head file (written after the last note; verified by the chain; the next write or start-up anchors them).");
            return 0;
        }
        await stdout.WriteLineAsync("Audit log verification FAILED.");
        if (result.FirstBadSeq is { } seq) await stdout.WriteLineAsync($"First bad record: seq {seq}");
        foreach (var problem in result.Problems) await stdout.WriteLineAsync("  " + problem);
        await stdout.WriteLineAsync($"{result.IntactRecords} records verified before the first break.");
        return 1;
    }

    private static async Task<int> ExportAsync(AccountingExport export, AccountingQuery query, string format, TextWriter stdout)
    {
        if (query.GuardDecisions)
        {
            var decisions = await export.GuardDecisionsAsync(query, CancellationToken.None);
            if (format == "json") await AccountingWriter.WriteJsonAsync(decisions, stdout);
            else await AccountingWriter.WriteCsvAsync(decisions, stdout);
            return 0;
        }
        var entries = await export.QueryAsync(query, CancellationToken.None);
        if (format == "json") await AccountingWriter.WriteJsonAsync(entries, stdout);
        else await AccountingWriter.WriteCsvAsync(entries, stdout);
        return 0;
    }

    /// <summary>
    /// The envelope senders of mail the gateway writes itself: pickup code mails (Pickup:FromAddress,
    /// else no-reply@ the host name, as the code mailer sends them) and bounces (the null sender).
    /// </summary>
    private static IReadOnlyCollection<string> GatewaySenders(CliContext context)
    {
        var from = context.Get<Microsoft.Extensions.Configuration.IConfiguration>()["Pickup:FromAddress"];
        var codeMails = from is { Length: > 0 } && MimeKit.MailboxAddress.TryParse(from, out var mailbox) ? mailbox.Address : $"no-reply@{context.Gateway.HostName}";
        return ["", codeMails];
    }

    /// <summary>
    /// <c>--head-note NOTE</c> (one note) and <c>--head-notes FILE</c> (every line holding a note,
    /// such as a syslog extract; other lines are skipped), each repeatable. A line that holds the
    /// note marker but does not parse is an error rather than skipped: a damaged note must not pass
    /// as "nothing to check". Returns an error message, or null with the notes filled in.
    /// </summary>
    internal static string? ParseVerify(string[] args, out IReadOnlyList<PhiMailGateway.Audit.HeadNotes.AuditHeadNote> notes)
    {
        var found = new List<PhiMailGateway.Audit.HeadNotes.AuditHeadNote>();
        notes = found;
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            string? value = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                value = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            if (arg is not ("--head-note" or "--head-notes")) return $"unknown argument '{args[i]}'.";
            if (value is null)
            {
                if (i + 1 >= args.Length) return $"{arg} needs a value.";
                value = args[++i];
            }
            if (arg == "--head-note")
            {
                try
                {
                    if (PhiMailGateway.Audit.HeadNotes.AuditHeadNote.Find(value) is not { } note)
                        return $"--head-note is not a head note (it starts with {PhiMailGateway.Audit.HeadNotes.AuditHeadNote.Marker}).";
                    found.Add(note);
                }
                catch (FormatException e)
                {
                    return $"--head-note: {e.Message}.";
                }
                continue;
            }
            string[] lines;
            try
            {
                lines = File.ReadAllLines(value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return $"--head-notes '{value}' cannot be read: {e.Message}";
            }
            var before = found.Count;
            for (var n = 0; n < lines.Length; n++)
            {
                try
                {
                    if (PhiMailGateway.Audit.HeadNotes.AuditHeadNote.Find(lines[n]) is { } note) found.Add(note);
                }
                catch (FormatException e)
                {
                    return $"--head-notes '{value}' line {n + 1}: {e.Message}.";
                }
            }
            if (found.Count == before) return $"--head-notes '{value}' holds no head note.";
        }
        return null;
    }

    /// <summary>Returns an error message, or null with the query filled in.</summary>
    internal static string? ParseExport(string[] args, out AccountingQuery query, out string format)
    {
        query = new AccountingQuery();
        format = "csv";
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == "--include-gateway-mail")
            {
                query = query with { IncludeGatewayMail = true };
                continue;
            }
            if (arg == "--guard")
            {
                query = query with { GuardDecisions = true };
                continue;
            }
            string? value = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                value = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            if (arg is not ("--since" or "--until" or "--patient" or "--recipient" or "--format"))
                return $"unknown argument '{args[i]}'.";
            if (value is null)
            {
                if (i + 1 >= args.Length) return $"{arg} needs a value.";
                value = args[++i];
            }
            switch (arg)
            {
                case "--since":
                    if (ParseDate(value, endOfDay: false) is not { } since) return $"--since '{value}' is not an ISO 8601 date (yyyy-MM-dd, or yyyy-MM-ddTHH:mm[:ss][Z|+hh:mm]; UTC unless an offset is given).";
                    query = query with { Since = since };
                    break;
                case "--until":
                    if (ParseDate(value, endOfDay: true) is not { } until) return $"--until '{value}' is not an ISO 8601 date (yyyy-MM-dd, or yyyy-MM-ddTHH:mm[:ss][Z|+hh:mm]; UTC unless an offset is given).";
                    query = query with { Until = until };
                    break;
                case "--patient":
                    if (string.IsNullOrWhiteSpace(value)) return "--patient needs a PatientID.";
                    query = query with { PatientId = value };
                    break;
                case "--recipient":
                    if (!value.Contains('@', StringComparison.Ordinal)) return $"--recipient '{value}' is not an address.";
                    query = query with { Recipient = value };
                    break;
                default:
                    format = value.ToLowerInvariant();
                    if (format is not ("csv" or "json")) return $"--format '{value}' is not csv or json.";
                    break;
            }
        }
        if (query.Since is { } s && query.Until is { } u && s >= u) return "--since must be before --until.";
        return null;
    }

    /// <summary>A day (yyyy-MM-dd, UTC; as --until it includes the whole day) or an ISO 8601 time (UTC unless it says otherwise).</summary>
    private static DateTimeOffset? ParseDate(string value, bool endOfDay)
    {
        if (DateTime.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
        {
            var start = new DateTimeOffset(day, TimeSpan.Zero);
            return endOfDay ? start.AddDays(1) : start;
        }
        // ISO 8601 only: 12/05/2026 is the 5th of December in one office and the 12th of May in the next.
        return DateTimeOffset.TryParseExact(value, IsoTimes, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time)
            ? time
            : null;
    }

    private static readonly string[] IsoTimes =
        ["yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"];
}
