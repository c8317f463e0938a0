using System.Diagnostics;
using System.Text.Json;
using Dapper;
using MimeKit;
using PhiMailGateway.Cli;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>Shared steps of the audit tests: dental messages, the CLI verbs, sqlite3, the raw database.</summary>
internal static class AuditTestKit
{
    /// <summary>
    /// The default rules send dental images to Pickup, which holds the message until the pickup
    /// protector exists; the audit tests relay them instead (rule 1 is images-tls-first, which is pickup while direct delivery is off).
    /// </summary>
    public static Dictionary<string, string?> RelayImages(string action = "Relay") => new()
    {
        ["Rules:1:Name"] = "images-" + action.ToLowerInvariant(),
        ["Rules:1:Action"] = action,
        ["Rules:1:Message"] = action == "Reject" ? "Images are not sent by mail." : null,
        // The shipped rule 1 is TlsFirst with a fallback; any other action has none (blank: no value).
        ["Rules:1:Fallback"] = "",
    };

    /// <summary>A referral with one DICOM X-ray of the given patient, To Dr Lee, Cc the lab, both with display names.</summary>
    public static byte[] DicomMessage(string patientId = DentalCorpus.PatientId, string patientName = DentalCorpus.PatientName)
    {
        var message = DentalCorpus.WithAttachments(("xray.dcm", DentalCorpus.Dicom(patientId: patientId, patientName: patientName), "application/dicom"));
        message.Subject = "Referral";
        message.To.Clear();
        message.To.Add(new MailboxAddress("Dr Lee", "dr.lee@specialist.example"));
        message.Cc.Add(new MailboxAddress("Smile Lab", "lab@smilelab.example"));
        // SMTP wants CRLF line ends; MimeKit writes the platform's by default.
        using var stream = new MemoryStream();
        message.WriteTo(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, stream);
        return stream.ToArray();
    }

    public static async Task<(int Code, string Out, string Err)> CliAsync(string dataDirectory, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={dataDirectory}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    public static async Task<JsonElement[]> ExportJsonAsync(string dataDirectory, params string[] filters)
    {
        var (code, output, error) = await CliAsync(dataDirectory, ["audit", "export", "--format", "json", .. filters]);
        Assert.That(code, Is.Zero, error);
        return JsonDocument.Parse(output).RootElement.EnumerateArray().ToArray();
    }

    /// <summary>Runs the sqlite3 command-line tool on a database, as an attacker with file access would.</summary>
    public static async Task<(int Code, string Err)> Sqlite3Async(string databasePath, string sql)
    {
        var info = new ProcessStartInfo("sqlite3") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        info.ArgumentList.Add(databasePath);
        info.ArgumentList.Add(sql);
        using var process = Process.Start(info)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, error);
    }

    public static async Task<T> ScalarAsync<T>(string dataDirectory, string sql, object? parameters = null)
    {
        await using var c = await new GatewayDatabase(Path.Combine(dataDirectory, "gateway.db")).OpenAsync(CancellationToken.None);
        return (await c.ExecuteScalarAsync<T>(sql, parameters))!;
    }

    public static Task WaitForEventsAsync(string dataDirectory, string type, int count) =>
        RelayEndToEndTests.WaitUntilAsync(
            async () => await ScalarAsync<long>(dataDirectory, "SELECT COUNT(*) FROM audit_events WHERE type = @type", new { type }) >= count,
            $"{count} {type} audit events");

    public static void CopyDirectory(string from, string to)
    {
        foreach (var dir in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        foreach (var file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            try
            {
                File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
            }
            catch (FileNotFoundException) when (file.EndsWith("-shm", StringComparison.Ordinal) || file.EndsWith("-wal", StringComparison.Ordinal))
            {
                // SQLite removes these when its last connection closes (another fixture's ClearAllPools
                // can close it mid-copy); the WAL goes only after its pages are in gateway.db, so the
                // copy without them holds the same data.
            }
        }
    }

    public static string AppendOnlyTrigger(string table, string verb) =>
        $"CREATE TRIGGER {table}_no_{verb.ToLowerInvariant()} BEFORE {verb} ON {table} BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;";
}
