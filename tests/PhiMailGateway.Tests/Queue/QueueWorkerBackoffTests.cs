using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

/// <summary>
/// Invariant 7 with the database still writable: a failure is injected into the real SQLite with a
/// trigger that aborts one kind of write while a flag row exists (the record of a relay attempt,
/// or the disclosure record of a processed message). The item must wait for the next step of the
/// retry schedule, and a recipient the upstream accepted must not get a second copy.
/// </summary>
// Sets PHIMAIL_CONFIG (TestConfig) while a host is built: process-wide.
[NonParallelizable]
public class QueueWorkerBackoffTests
{
    private const int WorkFailedEvent = 3202;
    private const int NotSentAgainEvent = 4101;
    private const int ProcessingDeferredEvent = 3102;
    private const string Retry = "00:00:02";

    private static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: Front Desk <office@smiledental.example>\r\n" +
        "To: Dr. Lee <dr.lee@specialist.example>\r\n" +
        "Subject: Appointment\r\n" +
        "Message-ID: <backoff-1@smiledental.example>\r\n" +
        "\r\n" +
        "See you on Tuesday.\r\n");

    [Test]
    public async Task QueueWorker_RecordFailsAfterUpstream250_NoSecondSendAndDueTimeInFuture()
    {
        var recorder = new RecordingLoggerProvider();
        TestGateway? gateway = null;
        var accepted = 0;
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            BeforeAccepting = async _ =>
            {
                if (Interlocked.Increment(ref accepted) == 1) await SetFailureAsync(gateway!, "record", on: true);
            },
        });
        await using var gw = gateway = await StartAsync(upstream, recorder);

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, Message, "dr.lee@specialist.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "the record of the attempt failed");

        var row = await DeliveryRowAsync(gw, queueId);
        Assert.That(row.NextAttemptAt, Is.GreaterThan(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
            "the delivery is not due again at once: it waits for the retry schedule");
        Assert.That(row.Attempts, Is.EqualTo(1), "the failed attempt counts");
        Assert.That(row.LastError, Is.EqualTo("failed: StorageException"), "the reason names the type only");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1));

        await SetFailureAsync(gw, "record", on: false);
        await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "the recipient the upstream accepted gets no second copy");
        Assert.That(recorder.Count(NotSentAgainEvent), Is.EqualTo(1), "the accepted recipient was recorded from memory");
        Assert.That(recorder.Count(WorkFailedEvent), Is.EqualTo(1), "one failure, one backoff, no loop");
    }

    [Test]
    public async Task QueueWorker_RecordFailsAfterPartialAcceptance_RetrySendsOnlyToTheRest()
    {
        var recorder = new RecordingLoggerProvider();
        TestGateway? gateway = null;
        var accepted = 0;
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (rcpt, n) => rcpt == "busy@specialist.example" && n == 1 ? new FakeReply(451, "4.2.0 Mailbox busy") : null,
            BeforeAccepting = async _ =>
            {
                if (Interlocked.Increment(ref accepted) == 1) await SetFailureAsync(gateway!, "record", on: true);
            },
        });
        await using var gw = gateway = await StartAsync(upstream, recorder);

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, Message, "dr.lee@specialist.example", "busy@specialist.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "the record of the attempt failed");
        await SetFailureAsync(gw, "record", on: false);
        await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");

        var copies = upstream.Messages.Select(m => string.Join(",", m.Recipients)).ToList();
        Assert.That(copies, Is.EqualTo(new[] { "dr.lee@specialist.example", "busy@specialist.example" }),
            "the second attempt goes only to the recipient the upstream had deferred");
    }

    [Test]
    public async Task QueueWorker_DisclosureRecordFails_MessageWaitsForRetryScheduleThenGoesOnce()
    {
        var recorder = new RecordingLoggerProvider();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var gw = await StartAsync(upstream, recorder);
        await SetFailureAsync(gw, "audit", on: true);

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, Message, "dr.lee@specialist.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "processing failed at the disclosure record");

        await using (var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None))
        {
            var row = await c.QuerySingleAsync<(string State, long Attempts, long NextAttemptAt)>(
                "SELECT state, attempts, next_attempt_at FROM messages WHERE queue_id = @queueId", new { queueId });
            Assert.That(row.State, Is.EqualTo("Received"), "nothing was enqueued without its disclosure record (invariant 2)");
            Assert.That(row.NextAttemptAt, Is.GreaterThan(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()),
                "the message is not processed again at once");
            Assert.That(row.Attempts, Is.EqualTo(1));
        }
        Assert.That(upstream.Messages, Is.Empty);

        await SetFailureAsync(gw, "audit", on: false);
        await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1));
        Assert.That(recorder.Count(WorkFailedEvent), Is.EqualTo(1), "one failure, one backoff, no loop");
    }

    [Test]
    public async Task QueueWorker_RecordOfABounceFails_TheDsnFileGoesAndTheSenderGetsOneDsn()
    {
        var recorder = new RecordingLoggerProvider();
        TestGateway? gateway = null;
        var accepted = 0;
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            RecipientReply = (rcpt, _) => rcpt == "gone@specialist.example" ? new FakeReply(550, "5.1.1 No such user") : null,
            BeforeAccepting = async _ =>
            {
                if (Interlocked.Increment(ref accepted) == 1) await SetFailureAsync(gateway!, "record", on: true);
            },
        });
        await using var gw = gateway = await StartAsync(upstream, recorder);

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, Message, "dr.lee@specialist.example", "gone@specialist.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "the record of the attempt failed");
        Assert.That(Directory.GetFiles(gw.Spool.Outbound, "*-B*.eml"), Is.Empty, "the DSN written for the failed record is removed with it");

        await SetFailureAsync(gw, "record", on: false);
        await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message and its DSN are done");
        var dsns = upstream.Messages.Where(m => m.Sender == "").ToList();
        Assert.That(dsns, Has.Count.EqualTo(1), "the sender hears of the failed recipient once");
        // A delivered copy's file goes after its commit, so the state can say Done a moment before.
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(Directory.GetFiles(gw.Spool.Outbound).Length == 0), "no DSN file is left behind");
    }

    [Test]
    public async Task QueueWorker_ProtectionStageFails_MessageWaitsForTheFirstRetryScheduleStep()
    {
        var recorder = new RecordingLoggerProvider();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        // A step far longer than any fixed processing delay, so the row shows which one was used.
        var settings = RelayEndToEndTests.SmarthostSettings(upstream, retry: "00:07:00,01:00:00");
        await using var gw = await TestGateway.StartAsync(settings, s => s.AddSingleton<ILoggerProvider>(recorder));
        await gw.AddUserAsync("frontdesk", "correct horse");
        // The pickup folder replaced by a file: the pickup protector cannot write its package.
        var pickup = Path.Combine(gw.DataDirectory, "pickup");
        if (Directory.Exists(pickup)) Directory.Delete(pickup, recursive: true);
        await File.WriteAllTextAsync(pickup, "not a folder");

        var message = DentalCorpus.WithAttachments(("bitewing.dcm", DentalCorpus.Dicom(), "application/dicom"));
        message.To.Clear();
        message.To.Add(new MimeKit.MailboxAddress("Patient", "patient@home.example"));
        var before = DateTimeOffset.UtcNow;
        var queueId = await RelayEndToEndTests.SubmitAsync(gw, PickupWeb.PickupTestBed.Wire(message), "patient@home.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(ProcessingDeferredEvent) >= 1), "processing was deferred");

        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        var row = await c.QuerySingleAsync<(string State, long Attempts, long NextAttemptAt, string? LastError)>(
            "SELECT state, attempts, next_attempt_at, last_error FROM messages WHERE queue_id = @queueId", new { queueId });
        Assert.That(row.State, Is.EqualTo("Received"));
        Assert.That(row.Attempts, Is.EqualTo(1));
        Assert.That(row.LastError, Does.Contain("Protection"), "the reason names the stage");
        Assert.That(DateTimeOffset.FromUnixTimeMilliseconds(row.NextAttemptAt), Is.GreaterThanOrEqualTo(before + TimeSpan.FromMinutes(7)),
            "a failed stage waits the first step of Relay:RetrySchedule, like every other failure");
        Assert.That(upstream.Messages, Is.Empty, "nothing left while the package could not be written");
    }

    [Test]
    public async Task QueueWorker_DisclosureRecordOfAPickupFails_ItsNoticeAndPackageFilesGo()
    {
        var recorder = new RecordingLoggerProvider();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        await using var gw = await StartAsync(upstream, recorder);
        await SetFailureAsync(gw, "audit", on: true);
        var message = DentalCorpus.WithAttachments(("bitewing.dcm", DentalCorpus.Dicom(), "application/dicom"));
        message.To.Clear();
        message.To.Add(new MimeKit.MailboxAddress("Patient", "patient@home.example"));

        var queueId = await RelayEndToEndTests.SubmitAsync(gw, PickupWeb.PickupTestBed.Wire(message), "patient@home.example");
        await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "processing failed at the disclosure record");

        Assert.That(Directory.GetFiles(gw.Spool.Outbound), Is.Empty, "the pickup notice of the failed attempt is gone");
        var pickup = Path.Combine(gw.DataDirectory, "pickup");
        Assert.That(Directory.Exists(pickup) ? Directory.GetFiles(pickup, "*.pkg") : [], Is.Empty, "so are the encrypted package files");

        await SetFailureAsync(gw, "audit", on: false);
        await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Done", "the message is done");
        Assert.That(upstream.Messages, Has.Count.EqualTo(1), "one notice reaches the recipient");
    }

    [Test]
    public async Task QueueWorker_HoldCannotBeRecorded_FileGoesBackAndMessageIsHeldLater()
    {
        var recorder = new RecordingLoggerProvider();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        using var config = new TempDirectory();
        TestGateway gw;
        // No rule for the recipient: routing holds the message for a person.
        using (TestConfig.Use(config.Path, """{ "Rules": [ { "Name": "lab-only", "When": { "RecipientDomains": [ "lab.example" ] }, "Action": "Relay" } ] }"""))
        {
            gw = await StartAsync(upstream, recorder);
        }
        await using (gw)
        {
            await SetFailureAsync(gw, "hold", on: true);
            var queueId = await RelayEndToEndTests.SubmitAsync(gw, Message, "dr.lee@specialist.example");
            await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(recorder.Count(WorkFailedEvent) >= 1), "the hold could not be recorded");

            Assert.That(File.Exists(gw.Spool.IncomingPath(queueId)), Is.True, "the file is back where its row says it is");
            Assert.That(await MessageStateAsync(gw, queueId), Is.EqualTo("Received"));

            await SetFailureAsync(gw, "hold", on: false);
            await RelayEndToEndTests.WaitUntilAsync(async () => await MessageStateAsync(gw, queueId) == "Held", "the message is held");
            Assert.That(File.Exists(Path.Combine(gw.Spool.Hold, Path.GetFileName(gw.Spool.IncomingPath(queueId)))), Is.True, "held in hold/, not called corrupt");
            Assert.That(upstream.Messages, Is.Empty);
        }
    }

    private static async Task<TestGateway> StartAsync(FakeSmtpUpstream upstream, RecordingLoggerProvider recorder)
    {
        var settings = RelayEndToEndTests.SmarthostSettings(upstream, retry: Retry);
        settings["Logging:LogLevel:PhiMailGateway.Relay.OutboundDeliverer"] = "Information";
        var gw = await TestGateway.StartAsync(settings, s => s.AddSingleton<ILoggerProvider>(recorder));
        await gw.AddUserAsync("frontdesk", "correct horse");
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        // Real SQLite failures, switched by a flag row: the write aborts with SQLITE_CONSTRAINT.
        await c.ExecuteAsync(
            """
            CREATE TABLE test_failure (name TEXT PRIMARY KEY);
            CREATE TRIGGER test_failure_record BEFORE UPDATE ON delivery_recipients
              WHEN EXISTS (SELECT 1 FROM test_failure WHERE name = 'record')
              BEGIN SELECT RAISE(ABORT, 'injected: record of a relay attempt'); END;
            CREATE TRIGGER test_failure_audit BEFORE INSERT ON disclosures
              WHEN EXISTS (SELECT 1 FROM test_failure WHERE name = 'audit')
              BEGIN SELECT RAISE(ABORT, 'injected: disclosure record'); END;
            CREATE TRIGGER test_failure_hold BEFORE UPDATE OF state ON messages
              WHEN NEW.state = 'Held' AND EXISTS (SELECT 1 FROM test_failure WHERE name = 'hold')
              BEGIN SELECT RAISE(ABORT, 'injected: hold'); END;
            """);
        return gw;
    }

    private static async Task SetFailureAsync(TestGateway gw, string name, bool on)
    {
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        await c.ExecuteAsync(on ? "INSERT OR IGNORE INTO test_failure (name) VALUES (@name)" : "DELETE FROM test_failure WHERE name = @name", new { name });
    }

    private static async Task<(long Attempts, long NextAttemptAt, string? LastError)> DeliveryRowAsync(TestGateway gw, string queueId)
    {
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return await c.QuerySingleAsync<(long, long, string?)>(
            "SELECT attempts, next_attempt_at, last_error FROM deliveries WHERE queue_id = @queueId", new { queueId });
    }

    private static async Task<string?> MessageStateAsync(TestGateway gw, string queueId)
    {
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return await c.ExecuteScalarAsync<string?>("SELECT state FROM messages WHERE queue_id = @queueId", new { queueId });
    }
}
