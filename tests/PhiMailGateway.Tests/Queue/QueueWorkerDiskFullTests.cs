using System.Text;
using Dapper;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

/// <summary>
/// Invariant 7 on a real full disk: the data directory sits on a small tmpfs that fills up while
/// the smarthost is accepting copies, so the commit after its 250 fails. Before the fix the worker
/// sent the same copy again at once, hundreds of times a second.
/// </summary>
[NonParallelizable]
public class QueueWorkerDiskFullTests
{
    private const int PausedEvent = 3301;
    private const int ResumedEvent = 3302;
    private const int ProbeFailedEvent = 3303;
    private const int StillCannotWriteEvent = 3304;
    private const int WorkFailedEvent = 3202;
    private const int NotSentAgainEvent = 4101;

    [Test]
    public async Task QueueWorker_DiskFillsWhileDeliveriesAreAccepted_EachRecipientGetsOneCopyAndPauseIsLoggedOnce()
    {
        using var disk = SmallDisk.Mount(megabytes: 24);
        var recorder = new RecordingLoggerProvider();
        var allSubmitted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var filled = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var fills = 0;
        await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions
        {
            // Every copy waits here until all messages are queued, so several are in flight when
            // the first one fills the disk; each has been accepted when the gateway goes to record it.
            BeforeAccepting = async _ =>
            {
                await allSubmitted.Task.WaitAsync(TimeSpan.FromSeconds(60));
                if (Interlocked.Exchange(ref fills, 1) == 0) filled.TrySetResult(disk.Fill());
            },
        });
        var settings = RelayEndToEndTests.SmarthostSettings(upstream, retry: "00:00:00.200");
        settings["Logging:LogLevel:PhiMailGateway.Queue"] = "Debug";
        settings["Logging:LogLevel:PhiMailGateway.Relay.OutboundDeliverer"] = "Information";
        var data = Path.Combine(disk.Path, "data");
        await using var gw = await TestGateway.StartAsync(settings, s => s.AddSingleton<ILoggerProvider>(recorder), dataDirectory: data);
        await gw.AddUserAsync("frontdesk", "correct horse");

        var expected = new List<string>();
        var queueIds = new List<string>();
        for (var i = 1; i <= 3; i++)
        {
            // Pickup: the copy that leaves is a notice the gateway wrote.
            string[] to = [$"pickup{i}-a@specialist.example", $"pickup{i}-b@specialist.example"];
            queueIds.Add(await RelayEndToEndTests.SubmitAsync(gw, XrayMessage(i), to));
            expected.AddRange(to);
        }
        for (var i = 1; i <= 3; i++)
        {
            string[] to = [$"plain{i}-a@specialist.example", $"plain{i}-b@specialist.example"];
            queueIds.Add(await RelayEndToEndTests.SubmitAsync(gw, PlainMessage(i), to));
            expected.AddRange(to);
        }
        allSubmitted.SetResult();

        var filler = await filled.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.That(filler, Is.GreaterThan(0), "the filler took the rest of the disk");
        Assert.That(await SubmitExpectingAsync(gw, PlainMessage(99), 451, "late@specialist.example"), Is.EqualTo(451),
            "ingress cannot make a message durable on a full disk: 451, try again");

        // Several probe rounds with the disk still full: long enough for a resend loop to show. A
        // round's probe either fails, or commits in space the work then does not find (3304).
        await WaitUntilAsync(() => recorder.Count(ProbeFailedEvent) + recorder.Count(StillCannotWriteEvent) >= 2,
            () => $"the worker paused and probed twice while the disk is full; copies at the upstream so far: {upstream.Messages.Count} for {expected.Count} recipients", 30);
        Assert.That(CopiesPerRecipient(upstream).Values.Max(), Is.EqualTo(1),
            $"no recipient got a second copy while the disk was full ({upstream.Messages.Count} copies for {expected.Count} recipients)");

        disk.Free();
        await WaitUntilAsync(() => recorder.Count(ResumedEvent) >= 1, () => "the worker resumed after the space returned", 60);
        var late = await RelayEndToEndTests.SubmitAsync(gw, PlainMessage(99), "late@specialist.example");
        queueIds.Add(late);
        expected.Add("late@specialist.example");
        await WaitUntilAsync(async () => await CountNotDoneAsync(gw, queueIds) == 0,
            async () => $"every message is Done ({await CountNotDoneAsync(gw, queueIds)} not yet)", 60);

        var copies = CopiesPerRecipient(upstream);
        Assert.That(copies.Keys, Is.EquivalentTo(expected), "every recipient got its copy once the space returned");
        Assert.That(copies.Where(c => c.Value != 1).Select(c => $"{c.Key}: {c.Value}"), Is.Empty,
            $"each recipient exactly once ({upstream.Messages.Count} copies in all)");
        Assert.That(recorder.Count(PausedEvent), Is.EqualTo(1), "the pause is logged once, not once per item");
        Assert.That(recorder.Count(ResumedEvent), Is.EqualTo(1), "and the resume once");
        Assert.That(recorder.Events.Single(e => e.EventId == PausedEvent).Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(recorder.Count(NotSentAgainEvent), Is.GreaterThan(0),
            "copies accepted before the failed commit were recorded later from memory, not sent again");
        TestContext.Out.WriteLine($"copies {upstream.Messages.Count}, filler {filler} bytes, failed items {recorder.Count(WorkFailedEvent)}, " +
            $"failed probes {recorder.Count(ProbeFailedEvent)}, probes the work did not confirm {recorder.Count(StillCannotWriteEvent)}, recorded from memory {recorder.Count(NotSentAgainEvent)}");
    }

    private static Dictionary<string, int> CopiesPerRecipient(FakeSmtpUpstream upstream) =>
        upstream.Messages.SelectMany(m => m.Recipients).GroupBy(r => r, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.OrdinalIgnoreCase);

    private static byte[] XrayMessage(int i)
    {
        var message = DentalCorpus.WithAttachments(($"bitewing-{i}.dcm", DentalCorpus.Dicom(rows: 256, columns: 256), "application/dicom"));
        message.Subject = $"Referral {i}";
        // SMTP needs CRLF; MimeKit writes the platform's line ends unless told.
        using var bytes = new MemoryStream();
        message.WriteTo(new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos }, bytes);
        return bytes.ToArray();
    }

    private static byte[] PlainMessage(int i) => Encoding.ASCII.GetBytes(
        "From: Front Desk <office@smiledental.example>\r\n" +
        "To: Dr. Lee <dr.lee@specialist.example>\r\n" +
        $"Subject: Appointment {i}\r\n" +
        $"Message-ID: <plain-{i}@smiledental.example>\r\n" +
        "\r\n" +
        "See you on Tuesday.\r\n");

    /// <summary>One submission that is expected to get <paramref name="code"/> at the end of DATA; returns the code it got.</summary>
    private static async Task<int> SubmitExpectingAsync(TestGateway gw, byte[] message, int code, string recipient)
    {
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port);
        await client.LoginAsync("frontdesk", "correct horse");
        SmtpTestClient.Expect(await client.CommandAsync($"MAIL FROM:<{RelayEndToEndTests.Sender}>"), 250, "MAIL");
        SmtpTestClient.Expect(await client.CommandAsync($"RCPT TO:<{recipient}>"), 250, "RCPT");
        var reply = await client.DataAsync(RelayEndToEndTests.DotStuff(message));
        await client.CommandAsync("QUIT");
        return reply.Code;
    }

    private static async Task<long> CountNotDoneAsync(TestGateway gw, IReadOnlyList<string> queueIds)
    {
        await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        var done = await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages WHERE state = 'Done' AND queue_id IN @queueIds", new { queueIds });
        return queueIds.Count - done;
    }

    private static Task WaitUntilAsync(Func<bool> condition, Func<string> what, int seconds) =>
        WaitUntilAsync(() => Task.FromResult(condition()), () => Task.FromResult(what()), seconds);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<Task<string>> what, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"Timed out waiting until {await what()}.");
            await Task.Delay(50);
        }
    }
}
