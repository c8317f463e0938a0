using Microsoft.Extensions.Logging;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Queue;

/// <summary>
/// Stops queue work while the database cannot write (disk full, read-only, locked past its
/// timeout). Every item started then would fail its commit, and an item the upstream had already
/// accepted would be sent again for nothing. While paused, a small write probes the database on a
/// backoff (1 s doubling to 30 s); the first probe that commits resumes the work. The pause and the
/// resume are logged once each, never per item.
/// A probe is one small row: it can commit in space the work's own writes do not find (pages a
/// full disk still has, the WAL's reused frames). So a resume is logged only when a piece of work
/// commits after it (<see cref="ConfirmWrite"/>), and a failure before that is the same outage
/// going on: the work pauses again, unlogged, and the probes go on from a doubled delay.
/// </summary>
public sealed partial class DatabaseWritePause(IGatewayStorage storage, TimeProvider time, ILogger<DatabaseWritePause> logger)
{
    public static readonly TimeSpan FirstProbeDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxProbeDelay = TimeSpan.FromSeconds(30);

    // A pause that starts again this soon after a resume is the same trouble (a probe squeezed into
    // space a real commit does not find): its probes continue from the longer delay.
    private static readonly TimeSpan FlapWindow = TimeSpan.FromMinutes(1);

    private readonly Lock _lock = new();
    private bool _paused;
    // A probe committed, and no work has since: the outage is not known to be over.
    private bool _onProbation;
    private DateTimeOffset _pausedAt;
    private DateTimeOffset _resumedAt = DateTimeOffset.MinValue;
    private DateTimeOffset _nextProbe;
    private TimeSpan _probeDelay = FirstProbeDelay;

    public bool IsPaused
    {
        get
        {
            lock (_lock) return _paused;
        }
    }

    /// <summary>A write failed with an error that says the database cannot write: pause, unless already paused.</summary>
    public void Report(Exception failure)
    {
        if (StorageFailures.Unavailable(failure) is not { } unavailable) return;
        TimeSpan? delay = null;
        lock (_lock)
        {
            if (_paused) return;
            var now = time.GetUtcNow();
            _paused = true;
            if (_onProbation)
            {
                _onProbation = false;
                _probeDelay = Doubled(_probeDelay);
                _nextProbe = now + _probeDelay;
                delay = _probeDelay;
            }
            else
            {
                _pausedAt = now;
                if (now - _resumedAt > FlapWindow) _probeDelay = FirstProbeDelay;
                _nextProbe = now + _probeDelay;
            }
        }
        if (delay is { } stillFailing) LogStillCannotWrite(logger, unavailable.Reason, stillFailing);
        else LogPaused(logger, unavailable.Reason, FirstProbeDelay, MaxProbeDelay);
    }

    /// <summary>
    /// While paused: probes when the backoff says so. True when queue work may go on (not paused,
    /// or the probe just committed).
    /// </summary>
    public async Task<bool> TryResumeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_paused) return true;
            if (time.GetUtcNow() < _nextProbe) return false;
        }
        try
        {
            await storage.ProbeWriteAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            TimeSpan delay;
            lock (_lock)
            {
                _probeDelay = Doubled(_probeDelay);
                delay = _probeDelay;
                _nextProbe = time.GetUtcNow() + delay;
            }
            LogProbeFailed(logger, e.GetType().Name, StorageFailures.Unavailable(e)?.Reason ?? "not a storage outage", delay);
            return false;
        }
        lock (_lock)
        {
            _paused = false;
            _onProbation = true;
        }
        return true;
    }

    /// <summary>A piece of queue work committed: if a probe had resumed the work, the outage is over.</summary>
    public void ConfirmWrite()
    {
        TimeSpan pausedFor;
        lock (_lock)
        {
            if (!_onProbation) return;
            _onProbation = false;
            _resumedAt = time.GetUtcNow();
            pausedFor = _resumedAt - _pausedAt;
        }
        LogResumed(logger, pausedFor);
    }

    private static TimeSpan Doubled(TimeSpan delay) => delay * 2 > MaxProbeDelay ? MaxProbeDelay : delay * 2;

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Queue work paused: the database cannot write ({Reason}); probing every {FirstDelay} to {MaxDelay} until a write commits")]
    private static partial void LogPaused(ILogger logger, string reason, TimeSpan firstDelay, TimeSpan maxDelay);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Information, Message = "Queue work resumed: the database writes again after {PausedFor}")]
    private static partial void LogResumed(ILogger logger, TimeSpan pausedFor);

    [LoggerMessage(EventId = 3303, Level = LogLevel.Debug, Message = "Database write probe failed ({ExceptionType}: {Reason}); next probe in {Delay}")]
    private static partial void LogProbeFailed(ILogger logger, string exceptionType, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 3304, Level = LogLevel.Debug, Message = "Queue work paused again: a probe committed but the work still cannot write ({Reason}); next probe in {Delay}")]
    private static partial void LogStillCannotWrite(ILogger logger, string reason, TimeSpan delay);
}
