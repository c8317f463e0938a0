using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit.HeadNotes;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit;

/// <summary>
/// Ships head notes off the machine (<c>Audit:HeadNotes</c>): to syslog at start-up, after commits
/// that advance the chain (at most one per <see cref="AuditHeadNotesOptions.Interval"/>, the newest
/// head at that moment) and at shutdown; to the privacy officer by mail once per
/// <see cref="AuditHeadNotesOptions.MailInterval"/>. It runs beside the commit path and only reads
/// the head afterwards, so a receiver that is down never delays mail or the audit commit: a note
/// that could not be sent stays pending and goes on the next round.
/// Registered with the audit, before processing and relay, so it stops after them and its
/// shutdown note covers their last records.
/// </summary>
public sealed partial class AuditHeadNotePublisher(
    AuditOptions options,
    GatewayOptions gateway,
    AuditKeys keys,
    IAuditStore store,
    AuditHeadSignal signal,
    HeadNoteMailer mailer,
    TimeProvider time,
    ILoggerFactory loggers) : BackgroundService
{
    /// <summary>SemaphoreSlim waits take at most int.MaxValue ms; waking once an hour to look again is plenty.</summary>
    private static readonly TimeSpan LongestWait = TimeSpan.FromHours(1);

    private static readonly TimeSpan ShutdownBudget = TimeSpan.FromSeconds(5);

    private readonly ILogger _logger = loggers.CreateLogger<AuditHeadNotePublisher>();

    private readonly SyslogHeadNoteSender? _syslog = options.HeadNotes.Syslog is { Length: > 0 } url && SyslogTarget.Parse(url, out _) is { } target
        ? new SyslogHeadNoteSender(target, time, loggers.CreateLogger<SyslogHeadNoteSender>())
        : null;

    // Round state; only ExecuteAsync's loop touches it.
    private long _shippedSeq = -1;
    private bool _syslogPending;
    private bool _forceSyslog = true;
    private DateTimeOffset _nextSyslog;
    private DateTimeOffset _nextMail;
    private bool _roundFailed;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_syslog is null && mailer.MailTo is null) return;
        LogEnabled(_logger, _syslog?.Target.Transport.ToString() ?? "none", mailer.MailTo is not null, options.HeadNotes.Interval, options.HeadNotes.MailInterval);
        _syslogPending = _syslog is not null; // the start-up note, sent even though the head did not move
        _nextSyslog = time.GetUtcNow();
        _nextMail = mailer.MailTo is null ? DateTimeOffset.MaxValue : mailer.NextDue();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var now = time.GetUtcNow();
                try
                {
                    await RoundAsync(now, stoppingToken);
                    _roundFailed = false;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Shipping notes is a safeguard beside the mail flow: whatever goes wrong here
                    // must not stop the host (a faulted BackgroundService would). Back off one
                    // interval and try again; logged once until a round succeeds.
                    if (!_roundFailed) LogRoundFailed(_logger, e.GetType().Name);
                    _roundFailed = true;
                    if (now >= _nextSyslog) _nextSyslog = now + options.HeadNotes.Interval;
                    if (now >= _nextMail) _nextMail = now + options.HeadNotes.Interval;
                }

                var until = _syslogPending ? Min(_nextSyslog, _nextMail) : _nextMail;
                var wait = until - time.GetUtcNow();
                if (wait <= TimeSpan.Zero) continue;
                if (await signal.WaitAsync(wait > LongestWait ? LongestWait : wait, stoppingToken) && _syslog is not null)
                    _syslogPending = true;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutdown: the final note below.
        }

        if (_syslog is null) return;
        using var budget = new CancellationTokenSource(ShutdownBudget);
        try
        {
            await _syslog.SendAsync(await CurrentNoteAsync(budget.Token), budget.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or StorageException or IOException)
        {
            LogShutdownNoteFailed(_logger, e.GetType().Name);
        }
    }

    /// <summary>Sends what is due: the syslog note when the head moved (or the start-up note) and its slot came, the mail when its day came.</summary>
    private async Task RoundAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var interval = options.HeadNotes.Interval;
        if (_syslogPending && now >= _nextSyslog)
        {
            var note = await TryCurrentNoteAsync(cancellationToken);
            if (note is null)
            {
                _nextSyslog = now + interval;
            }
            else if (_forceSyslog || note.Seq > _shippedSeq)
            {
                if (await _syslog!.SendAsync(note, cancellationToken))
                {
                    _shippedSeq = note.Seq;
                    _syslogPending = false;
                    _forceSyslog = false;
                }
                // Coalescing: whatever commits now waits for the next slot, sent or not; a note
                // that failed stays pending and is tried again then.
                _nextSyslog = now + interval;
            }
            else
            {
                _syslogPending = false;
            }
        }
        if (now >= _nextMail)
        {
            var note = await TryCurrentNoteAsync(cancellationToken);
            _nextMail = note is not null && await mailer.QueueAsync(note, cancellationToken) ? now + options.HeadNotes.MailInterval : now + interval;
        }
    }

    private bool _unreadable;

    /// <summary>The current note, or null (logged once until it works again) while the database cannot be read: the next round tries again.</summary>
    private async Task<AuditHeadNote?> TryCurrentNoteAsync(CancellationToken cancellationToken)
    {
        try
        {
            var note = await CurrentNoteAsync(cancellationToken);
            _unreadable = false;
            return note;
        }
        catch (Exception e) when (e is StorageException or IOException)
        {
            if (!_unreadable) LogUnreadable(_logger, e.GetType().Name);
            _unreadable = true;
            return null;
        }
    }

    private async Task<AuditHeadNote> CurrentNoteAsync(CancellationToken cancellationToken)
    {
        var head = await store.ReadHeadAsync(cancellationToken);
        return AuditHeadNote.Create(keys, gateway.HostName, head, time.GetUtcNow());
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    [LoggerMessage(EventId = 6221, Level = LogLevel.Information, Message = "Audit head notes: syslog over {Transport}, mail to the privacy officer: {Mail}; at most one syslog note per {Interval}, one mail per {MailInterval}")]
    private static partial void LogEnabled(ILogger logger, string transport, bool mail, TimeSpan interval, TimeSpan mailInterval);

    [LoggerMessage(EventId = 6222, Level = LogLevel.Warning, Message = "Audit head notes wait: the audit log cannot be read ({ErrorType}); tried again on the next round")]
    private static partial void LogUnreadable(ILogger logger, string errorType);

    [LoggerMessage(EventId = 6224, Level = LogLevel.Error, Message = "Audit head notes: a round failed ({ErrorType}); tried again after the interval. Mail and the audit log are not affected.")]
    private static partial void LogRoundFailed(ILogger logger, string errorType);

    [LoggerMessage(EventId = 6223, Level = LogLevel.Warning, Message = "Audit head note at shutdown not sent ({ErrorType})")]
    private static partial void LogShutdownNoteFailed(ILogger logger, string errorType);
}
