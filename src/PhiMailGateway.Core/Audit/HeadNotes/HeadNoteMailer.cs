using System.Globalization;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit.HeadNotes;

/// <summary>
/// The privacy officer's copy of the head note: a short mail queued the way a DSN is (a file in
/// <c>spool/outbound</c>, a delivery row, the relay's retries and backoff), so it leaves the
/// machine through the smarthost. It is sent with the null reverse-path and marked as the
/// gateway's own notification (IsDsn): it never bounces and is no disclosure, so its relay attempts
/// add no audit records and cannot advance the chain it reports on. When it was last queued is
/// kept in <c>&lt;data&gt;/audit/head-note-mail.last</c>, so a restart does not mail again early
/// and a gateway restarted every night still mails once a day.
/// </summary>
public sealed partial class HeadNoteMailer(
    AuditOptions options,
    GatewayOptions gateway,
    SpoolDirectory spool,
    IMessageQueue queue,
    ProcessingSignal signal,
    TimeProvider time,
    ILogger<HeadNoteMailer> logger)
{
    public const string SubjectPrefix = "Audit head note";

    private bool _failing;

    public string? MailTo => options.HeadNotes.MailTo is { Length: > 0 } to ? to.Trim() : null;

    private string StatePath => Path.Combine(gateway.FullDataDirectory, "audit", "head-note-mail.last");

    /// <summary>When the next mail is due: <see cref="AuditHeadNotesOptions.MailInterval"/> after the last one, or now when none was sent.</summary>
    public DateTimeOffset NextDue()
    {
        try
        {
            if (File.Exists(StatePath)
                && long.TryParse(File.ReadAllText(StatePath).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var last))
                return DateTimeOffset.FromUnixTimeMilliseconds(last) + options.HeadNotes.MailInterval;
        }
        catch (IOException)
        {
            // Unreadable: mail now rather than never.
        }
        return time.GetUtcNow();
    }

    /// <returns>True once the mail is durably queued.</returns>
    public async Task<bool> QueueAsync(AuditHeadNote note, CancellationToken cancellationToken)
    {
        if (MailTo is not { } to) return false;
        var now = time.GetUtcNow();
        var queueId = QueueId.New(now);
        var path = Path.Combine(spool.Outbound, $"{queueId}-headnote.eml");
        try
        {
            var message = Build(note, to, now);
            long size;
            await using (var file = OwnerOnly.CreateNew(path))
            {
                await message.WriteToAsync(DsnBuilder.CrLf, file, cancellationToken);
                file.Flush(flushToDisk: true);
                size = file.Length;
            }
            DirectorySync.Flush(spool.Outbound);
            var delivery = new NewDelivery($"{queueId}-N", "", [to], path, 0, "HeadNote", null, RequireTls: false, IsDsn: true);
            await queue.EnqueueGeneratedAsync(queueId, delivery, size, cancellationToken);
            await WriteStateAsync(now);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Storage.StorageException or FormatException)
        {
            TryDelete(path);
            if (!_failing) LogQueueFailed(logger, note.Seq, e.GetType().Name);
            _failing = true;
            return false;
        }
        signal.Notify();
        _failing = false;
        LogQueued(logger, queueId, note.Seq);
        return true;
    }

    private MimeMessage Build(AuditHeadNote note, string to, DateTimeOffset now)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("PhiMailGateway audit", "MAILER-DAEMON@" + gateway.HostName));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = string.Create(CultureInfo.InvariantCulture, $"{SubjectPrefix} from {note.Node}: record {note.Seq}");
        message.Date = now;
        message.MessageId = MimeUtils.GenerateMessageId(gateway.HostName);
        message.Headers.Add("Auto-Submitted", "auto-generated");
        var text = string.Create(CultureInfo.InvariantCulture, $"""
            This is the encrypted mail gateway at {gateway.HostName}.

            Its audit log of disclosures had {note.Seq} records when this mail was written. Keep this
            mail: it lets IT prove later that no record up to that one was removed. To check, IT runs

              audit verify --head-note "<the line below>"

            on the gateway; it fails and names the record if the log was cut below this note.

            {note}

            The line holds no patient information: only the record number, a hash and a signature.
            """).Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);
        message.Body = new TextPart("plain") { Text = text };
        return message;
    }

    private async Task WriteStateAsync(DateTimeOffset now)
    {
        var directory = Path.GetDirectoryName(StatePath)!;
        OwnerOnly.CreateDirectory(directory);
        var temp = StatePath + ".tmp";
        File.Delete(temp);
        await using (var file = OwnerOnly.CreateNew(temp, 1))
        {
            await file.WriteAsync(System.Text.Encoding.ASCII.GetBytes(now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
            file.Flush(flushToDisk: true);
        }
        File.Move(temp, StatePath, overwrite: true);
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { /* a leftover file in outbound is harmless; nothing refers to it */ }
        catch (UnauthorizedAccessException) { }
    }

    [LoggerMessage(EventId = 6211, Level = LogLevel.Information, Message = "{QueueId}: audit head note {Seq} queued for the privacy officer")]
    private static partial void LogQueued(ILogger logger, string queueId, long seq);

    [LoggerMessage(EventId = 6212, Level = LogLevel.Warning, Message = "Audit head note {Seq} could not be queued for the privacy officer ({ErrorType}); tried again later. Mail and the audit log are not affected; this is logged once per outage.")]
    private static partial void LogQueueFailed(ILogger logger, long seq, string errorType);
}
