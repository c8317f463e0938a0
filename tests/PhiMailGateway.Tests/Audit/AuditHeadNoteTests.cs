using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MimeKit;
using PhiMailGateway.Audit;
using PhiMailGateway.Audit.HeadNotes;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// Head notes shipped off the machine, through the running gateway: a real UDP and a real TCP
/// syslog receiver on loopback, FakeSmtpUpstream for the privacy officer's mail, and
/// <c>audit verify --head-note</c> catching a tail cut that head.log no longer shows.
/// </summary>
[NonParallelizable]
public class AuditHeadNoteTests
{
    private const string PrivacyOfficer = "privacy@smiledental.example";

    private static AuditHeadNote? NoteOf(SyslogFrame frame) => AuditHeadNote.Find(frame.Message);

    private static IEnumerable<AuditHeadNote> Notes(SyslogListener listener) => listener.Frames.Select(NoteOf).OfType<AuditHeadNote>();

    private static Task<long> HeadSeqAsync(string data) =>
        AuditTestKit.ScalarAsync<long>(data, "SELECT COALESCE(MAX(seq), 0) FROM (SELECT seq FROM disclosures UNION ALL SELECT seq FROM audit_events)");

    private static Dictionary<string, string?> Settings(string syslogUrl, string interval = "00:00:01")
    {
        var settings = AuditTestKit.RelayImages();
        settings["Audit:HeadNotes:Syslog"] = syslogUrl;
        settings["Audit:HeadNotes:Interval"] = interval;
        return settings;
    }

    private static void AssertRfc5424(SyslogListener listener)
    {
        Assert.That(listener.Malformed, Is.Empty, "every frame parses as RFC 5424 (and, over TCP, as octet-counted)");
        foreach (var frame in listener.Frames)
        {
            Assert.That(frame.Priority, Is.EqualTo(13 * 8 + 5), "facility log audit (13), severity notice (5)");
            Assert.That(frame.Version, Is.EqualTo(1));
            Assert.That(frame.HostName, Is.EqualTo(TestGateway.HostName));
            Assert.That(frame.AppName, Is.EqualTo("PhiMailGateway"));
            Assert.That(frame.MessageId, Is.EqualTo("audit-head"));
            Assert.That(frame.Timestamp, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(2)));
            var note = NoteOf(frame);
            Assert.That(note, Is.Not.Null, $"the message is a head note: {frame.Message}");
            Assert.That(note!.Node, Is.EqualTo(TestGateway.HostName));
            Assert.That(frame.Raw, Does.Not.Contain("@").And.Not.Contain("TEST^PATIENT").And.Not.Contain(DentalCorpus.PatientId), "no addresses or patient data");
        }
    }

    [Test]
    public async Task AuditVerify_TailCutAndHeadFileTrimmed_PassesAloneButFailsAgainstTheShippedUdpNote()
    {
        using var data = new TempDirectory();
        await using var syslog = SyslogListener.Udp();
        long head;
        await using (var gw = await TestGateway.StartAsync(Settings(syslog.Url), dataDirectory: data.Path))
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            await syslog.WaitForAsync(f => NoteOf(f)?.Seq == 0, "the start-up note of the empty log");
            await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage(), "dr.lee@specialist.example", "lab@smilelab.example");
            await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage("TEST-0002", "OTHER^PATIENT"), "dr.lee@specialist.example");
            await AuditTestKit.WaitForEventsAsync(data.Path, "Relayed", 3);
            head = await HeadSeqAsync(data.Path);
            await syslog.WaitForAsync(f => NoteOf(f)?.Seq == head, $"a note of head {head} after the commits");
        }
        AssertRfc5424(syslog);
        var notes = Notes(syslog).ToList();
        Assert.That(notes[^1].Seq, Is.EqualTo(head), "the shutdown note is of the final head");
        var frames = syslog.Frames;
        // Coalescing: between the start-up and the shutdown note, at most one note per interval.
        for (var i = 1; i < frames.Count - 1; i++)
            Assert.That(frames[i].Timestamp - frames[i - 1].Timestamp, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900)), $"notes {i - 1} and {i} are an interval apart");
        var shipped = notes[^1].ToString();

        var intact = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", shipped);
        Assert.That(intact.Code, Is.Zero, intact.Out + intact.Err);
        Assert.That(intact.Out, Does.Contain("shipped head note(s) checked"));
        var joined = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note=" + shipped);
        Assert.That(joined.Code, Is.Zero, "--head-note=NOTE: the colons of the note's time do not make it a setting: " + joined.Out + joined.Err);

        // The attacker: drop the newest two records (triggers dropped and put back) and trim head.log to match.
        var keep = head - 2;
        var (code, err) = await AuditTestKit.Sqlite3Async(Path.Combine(data.Path, "gateway.db"),
            "DROP TRIGGER disclosures_no_delete; DROP TRIGGER audit_events_no_delete; DROP TRIGGER disclosure_patients_no_delete;" +
            $"DELETE FROM disclosure_patients WHERE disclosure_seq > {keep}; DELETE FROM disclosures WHERE seq > {keep}; DELETE FROM audit_events WHERE seq > {keep};" +
            AuditTestKit.AppendOnlyTrigger("disclosures", "DELETE") + AuditTestKit.AppendOnlyTrigger("audit_events", "DELETE") + AuditTestKit.AppendOnlyTrigger("disclosure_patients", "DELETE"));
        Assert.That(code, Is.Zero, err);
        var headFile = Path.Combine(data.Path, "audit", "head.log");
        var trimmed = File.ReadAllLines(headFile).Where(l => long.Parse(l.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) <= keep).ToList();
        Assert.That(trimmed, Is.Not.Empty);
        await File.WriteAllTextAsync(headFile, string.Join("\n", trimmed) + "\n");

        var alone = await AuditTestKit.CliAsync(data.Path, "audit", "verify");
        Assert.That(alone.Code, Is.Zero, "the cut is invisible to the chain and the trimmed head file: " + alone.Out);

        var withNote = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", shipped);
        Assert.That(withNote.Code, Is.EqualTo(1), withNote.Out);
        Assert.That((await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note=" + shipped)).Code, Is.EqualTo(1));
        Assert.That(withNote.Out, Does.Contain("Audit log verification FAILED."));
        Assert.That(withNote.Out, Does.Contain($"First bad record: seq {keep + 1}\n"), "names the first missing record");
        Assert.That(withNote.Out, Does.Contain($"notes seq {head}, the log ends at seq {keep}"), "and the note that proves it");

        // The same from a syslog extract: every frame as the receiver stored it, one per line.
        var extract = Path.Combine(data.Path, "syslog-extract.log");
        await File.WriteAllLinesAsync(extract, ["Dec  3 08:00:00 other-host sshd[1]: unrelated line", .. frames.Select(f => f.Raw)]);
        var fromFile = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-notes", extract);
        Assert.That(fromFile.Code, Is.EqualTo(1), fromFile.Out);
        Assert.That(fromFile.Out, Does.Contain($"First bad record: seq {keep + 1}\n"));
    }

    [Test]
    public async Task AuditVerify_ForgedHeadNote_IsRefused()
    {
        using var data = new TempDirectory();
        await using var syslog = SyslogListener.Tcp();
        await using (var gw = await TestGateway.StartAsync(Settings(syslog.Url), dataDirectory: data.Path))
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage(), "dr.lee@specialist.example", "lab@smilelab.example");
            await AuditTestKit.WaitForEventsAsync(data.Path, "Relayed", 2);
        }
        // Over TCP: octet-counted frames, the start-up note and the shutdown note at least.
        AssertRfc5424(syslog);
        var head = await HeadSeqAsync(data.Path);
        var notes = Notes(syslog).ToList();
        Assert.That(notes[0].Seq, Is.Zero, "the start-up note");
        Assert.That(notes[^1].Seq, Is.EqualTo(head), "the shutdown note");
        var real = notes[^1];
        Assert.That((await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", real.ToString())).Code, Is.Zero, "the real note passes");

        // An attacker who cut the newest record would want a note that ends where the log now ends.
        var previousMac = await AuditTestKit.ScalarAsync<string>(data.Path,
            "SELECT mac FROM (SELECT seq, mac FROM disclosures UNION ALL SELECT seq, mac FROM audit_events) WHERE seq = @seq", new { seq = head - 1 });
        var edited = (real with { Seq = head - 1, Hash = previousMac }).ToString();
        using var otherKey = new TempDirectory();
        var otherKeys = new AuditKeys(MasterKey.LoadOrCreate(Path.Combine(otherKey.Path, "master.key")));
        var otherMaster = AuditHeadNote.Create(otherKeys, TestGateway.HostName, new ChainHead(real.Seq, real.Hash), real.At).ToString();

        foreach (var (forged, why) in new[] { (edited, "seq and hash edited, MAC kept"), (otherMaster, "signed with another master key") })
        {
            var (code, output, error) = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", forged);
            Assert.That(code, Is.EqualTo(1), $"{why}: {output}{error}");
            Assert.That(output, Does.Contain("signature is wrong").And.Contain("refused"), why);
        }

        var damaged = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", real.ToString().Replace("mac=", "mac=zz", StringComparison.Ordinal));
        Assert.That(damaged.Code, Is.EqualTo(2), "a damaged note is a usage error, never skipped: " + damaged.Err);
        Assert.That(damaged.Err, Does.Contain("--head-note"));
    }

    [Test]
    public async Task HeadNotes_SyslogReceiverDown_MailFlowsWarningLoggedOnceAndTheNoteArrivesWhenItIsBack()
    {
        using var data = new TempDirectory();
        var port = TestGateway.GetFreePort();
        var logs = new CapturingLoggerProvider();
        var settings = Settings($"tcp://127.0.0.1:{port}");
        settings["Logging:LogLevel:PhiMailGateway.Audit.HeadNotes"] = "Debug";
        await using var gw = await TestGateway.StartAsync(settings, s => s.AddSingleton<ILoggerProvider>(logs), dataDirectory: data.Path);
        await gw.AddUserAsync("frontdesk", "correct horse");

        await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage(), "dr.lee@specialist.example");
        await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage("TEST-0002", "OTHER^PATIENT"), "lab@smilelab.example");
        await AuditTestKit.WaitForEventsAsync(data.Path, "Relayed", 2);
        Assert.That(Directory.GetFiles(Path.Combine(data.Path, "outbox"), "*.eml"), Has.Length.EqualTo(2), "mail was relayed while the receiver was down");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(logs.Count(6204) >= 2), "two more failed rounds after the first");
        Assert.That(logs.Count(6201), Is.EqualTo(1), "the outage is logged once as a warning, not once per round");
        Assert.That(logs.Levels(6201), Is.All.EqualTo(LogLevel.Warning));

        var head = await HeadSeqAsync(data.Path);
        await using var syslog = SyslogListener.Tcp(port);
        await syslog.WaitForAsync(f => NoteOf(f)?.Seq == head, $"the pending note of head {head}, once the receiver is back");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(logs.Count(6202) == 1), "the recovery logged");
        Assert.That(logs.Count(6201), Is.EqualTo(1));
        Assert.That((await AuditTestKit.CliAsync(data.Path, "audit", "verify")).Code, Is.Zero, "the audit log is intact");
    }

    [Test]
    public async Task HeadNotes_MailTo_ReachesTheSmarthostSignedAndAddsNoAuditRecord()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        var settings = RelayEndToEndTests.SmarthostSettings(upstream);
        settings["Audit:HeadNotes:MailTo"] = PrivacyOfficer;
        await using (var gw = await TestGateway.StartAsync(settings, dataDirectory: data.Path))
        {
            var mail = (await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(20))).Single();
            Assert.That(mail.Recipients, Is.EqualTo(new[] { PrivacyOfficer }));
            Assert.That(mail.Sender, Is.Empty, "the null reverse-path: the note never bounces");
            Assert.That(mail.Secure, Is.True, "over the smarthost's TLS like any mail");
            var parsed = MimeMessage.Load(new MemoryStream(mail.Data));
            Assert.That(parsed.Subject, Does.StartWith("Audit head note from gateway.test"));
            Assert.That(parsed.Headers[HeaderId.AutoSubmitted], Is.EqualTo("auto-generated"));
            var note = (parsed.TextBody ?? "").Split('\n').Select(l => AuditHeadNote.Find(l.TrimEnd('\r'))).OfType<AuditHeadNote>().Single();
            Assert.That(note.Seq, Is.Zero, "the log was empty at start-up");
            await RelayEndToEndTests.WaitUntilAsync(async () => await AuditTestKit.ScalarAsync<long>(data.Path,
                "SELECT COUNT(*) FROM deliveries WHERE state = 'Pending'") == 0, "the note's delivery settled");

            var verify = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--head-note", note.ToString());
            Assert.That(verify.Code, Is.Zero, verify.Out + verify.Err);
            Assert.That(await HeadSeqAsync(data.Path), Is.Zero, "the note mail is no disclosure: it adds no record that would need another note");
            Assert.That(File.Exists(Path.Combine(data.Path, "audit", "head-note-mail.last")), Is.True, "when it was mailed is kept for the next start");
        }
        Assert.That(Directory.GetFiles(Path.Combine(data.Path, "spool", "outbound")), Is.Empty, "its file went once delivered");

        // A restart does not mail again early: the next mail is a full MailInterval after the last.
        await using (var again = await TestGateway.StartAsync(settings, dataDirectory: data.Path))
        {
            var next = again.Services.GetRequiredService<HeadNoteMailer>().NextDue();
            Assert.That(next, Is.GreaterThan(DateTimeOffset.UtcNow + TimeSpan.FromHours(23)), "the default MailInterval is a day");
        }
    }

    [TestCase("Audit:HeadNotes:Syslog", "http://127.0.0.1:514")]
    [TestCase("Audit:HeadNotes:Syslog", "udp://127.0.0.1:70000")]
    [TestCase("Audit:HeadNotes:Syslog", "tcp://127.0.0.1:0")]
    [TestCase("Audit:HeadNotes:Syslog", "tcp://127.0.0.1")]
    [TestCase("Audit:HeadNotes:Interval", "00:00:00")]
    [TestCase("Audit:HeadNotes:MailTo", "not an address")]
    [TestCase("Audit:HeadNotes:MailInterval", "00:00:10")]
    public void Gateway_BadHeadNoteSetting_RefusedAtStartUpWithOneLineNamingTheKey(string key, string value)
    {
        var e = Assert.ThrowsAsync<OptionsValidationException>(async () =>
        {
            await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { [key] = value });
        });
        var lines = e!.Failures.Where(f => f.Contains(key, StringComparison.Ordinal)).ToList();
        Assert.That(lines, Has.Count.EqualTo(1), string.Join("\n", e.Failures));
        Assert.That(lines[0], Does.StartWith(key + ":").And.Not.Contain("\n"));
    }

    [Test]
    public async Task AuditCommand_BadHeadNoteSetting_ExitsTwoNamingTheKey()
    {
        using var data = new TempDirectory();
        var (code, _, error) = await AuditTestKit.CliAsync(data.Path, "audit", "verify", "--Audit:HeadNotes:Syslog=syslog.example:514");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("Audit:HeadNotes:Syslog: 'syslog.example:514' must be udp://host:port or tcp://host:port"));
    }

    /// <summary>Event ids and levels of everything logged, to count warnings per outage.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<(int Id, LogLevel Level)> _events = new();

        public int Count(int eventId) => _events.Count(e => e.Id == eventId);

        public IEnumerable<LogLevel> Levels(int eventId) => _events.Where(e => e.Id == eventId).Select(e => e.Level);

        public ILogger CreateLogger(string categoryName) => new Logger(_events);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(int, LogLevel)> events) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                events.Enqueue((eventId.Id, logLevel));
        }
    }
}
