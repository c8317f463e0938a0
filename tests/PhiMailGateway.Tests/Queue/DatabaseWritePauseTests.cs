using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Queue;

/// <summary>The pause on a real database on a full tmpfs, with a clock the test moves.</summary>
public class DatabaseWritePauseTests
{
    private const int PausedEvent = 3301;
    private const int ResumedEvent = 3302;
    private const int ProbeFailedEvent = 3303;
    private const int StillCannotWriteEvent = 3304;

    /// <summary>A pause over a real database on a 2 MB tmpfs, a clock the test moves, and its log.</summary>
    private sealed class Bed : IDisposable
    {
        private readonly ILoggerFactory _loggers;

        private Bed(SmallDisk disk, GatewayDatabase database)
        {
            Disk = disk;
            Database = database;
            _loggers = LoggerFactory.Create(b => b.AddProvider(Recorder).SetMinimumLevel(LogLevel.Debug));
            Pause = new DatabaseWritePause(database, Clock, _loggers.CreateLogger<DatabaseWritePause>());
        }

        public SmallDisk Disk { get; }
        public GatewayDatabase Database { get; }
        public ManualTimeProvider Clock { get; } = new(DateTimeOffset.UnixEpoch.AddYears(56));
        public RecordingLoggerProvider Recorder { get; } = new();
        public DatabaseWritePause Pause { get; }

        public static async Task<Bed> StartAsync()
        {
            var disk = SmallDisk.Mount(megabytes: 2);
            var database = new GatewayDatabase(Path.Combine(disk.Path, "gateway.db"));
            await database.MigrateAsync(CancellationToken.None);
            return new Bed(disk, database);
        }

        public void Dispose()
        {
            _loggers.Dispose();
            SqliteConnection.ClearAllPools();
            Disk.Dispose();
        }
    }

    [Test]
    public async Task DatabaseWritePause_DiskFull_ProbesOnDoublingBackoffAndResumesOnceWritesCommit()
    {
        using var bed = await Bed.StartAsync();
        var (disk, database, clock, recorder, pause) = (bed.Disk, bed.Database, bed.Clock, bed.Recorder, bed.Pause);

        disk.Fill();
        var failure = await FailedWriteAsync(database);
        Assert.That(failure, Is.Not.Null, "a write on the full disk fails");
        Assert.That(failure, Is.TypeOf<StorageUnavailableException>(), $"{failure!.Message}: the store says the database cannot write");

        pause.Report(failure);
        pause.Report(failure);
        Assert.That(pause.IsPaused, Is.True);
        Assert.That(recorder.Count(PausedEvent), Is.EqualTo(1), "a second failure during the pause is not logged again");
        Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.False, "no probe before the first delay");
        Assert.That(recorder.Count(ProbeFailedEvent), Is.Zero);

        // Probes at 1 s, then 2, 4, 8, 16 and 30 s apart, never sooner, however often the worker asks.
        var delays = new List<TimeSpan>();
        var delay = DatabaseWritePause.FirstProbeDelay;
        for (var probe = 1; probe <= 7; probe++)
        {
            clock.Advance(delay - TimeSpan.FromMilliseconds(1));
            Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.False);
            Assert.That(recorder.Count(ProbeFailedEvent), Is.EqualTo(probe - 1), $"probe {probe} not before its time");
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.False, "the disk is still full");
            Assert.That(recorder.Count(ProbeFailedEvent), Is.EqualTo(probe), $"probe {probe} ran");
            delay = delay * 2 > DatabaseWritePause.MaxProbeDelay ? DatabaseWritePause.MaxProbeDelay : delay * 2;
            delays.Add(delay);
        }
        Assert.That(delays[^1], Is.EqualTo(TimeSpan.FromSeconds(30)));

        disk.Free();
        clock.Advance(delay);
        Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.True, "the probe commits once space returns");
        Assert.That(pause.IsPaused, Is.False);
        Assert.That(await FailedWriteAsync(database), Is.Null, "and so do real writes");
        Assert.That(recorder.Count(ResumedEvent), Is.Zero, "the resume is logged when work commits, not on the probe alone");
        pause.ConfirmWrite();
        pause.ConfirmWrite();
        Assert.That(recorder.Count(PausedEvent), Is.EqualTo(1));
        Assert.That(recorder.Count(ResumedEvent), Is.EqualTo(1));
        Assert.That(recorder.Events.Single(e => e.EventId == PausedEvent).Message, Does.Contain("disk full"));
    }

    [Test]
    public async Task DatabaseWritePause_WorkFailsAfterAProbeCommitted_IsTheSameOutage_OnePauseOneResume()
    {
        using var bed = await Bed.StartAsync();
        var (disk, database, clock, recorder, pause) = (bed.Disk, bed.Database, bed.Clock, bed.Recorder, bed.Pause);
        disk.Fill();
        var failure = await FailedWriteAsync(database);
        Assert.That(failure, Is.TypeOf<StorageUnavailableException>());
        pause.Report(failure!);
        // The probe's one row commits (here: the space came back for a moment); the work's next
        // commit fails again, as when the probe fits where the work does not.
        disk.Free();
        clock.Advance(DatabaseWritePause.FirstProbeDelay);
        Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.True);

        pause.Report(failure!);
        Assert.That(pause.IsPaused, Is.True, "the work pauses again");
        Assert.That(recorder.Count(PausedEvent), Is.EqualTo(1), "but it is the same outage: not logged as a new pause");
        Assert.That(recorder.Count(StillCannotWriteEvent), Is.EqualTo(1));
        clock.Advance(DatabaseWritePause.FirstProbeDelay);
        Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.False, "the probes go on from a doubled delay");
        clock.Advance(DatabaseWritePause.FirstProbeDelay);
        Assert.That(await pause.TryResumeAsync(CancellationToken.None), Is.True);
        Assert.That(recorder.Count(ResumedEvent), Is.Zero);
        pause.ConfirmWrite();
        Assert.That(recorder.Count(ResumedEvent), Is.EqualTo(1), "work committed: the outage is over");
        pause.Report(failure!);
        Assert.That(recorder.Count(PausedEvent), Is.EqualTo(2), "a failure after a confirmed resume is a new outage");
    }

    [Test]
    public async Task DatabaseWritePause_FailureOfOneItem_DoesNotPause()
    {
        using var data = new TempDirectory();
        var database = new GatewayDatabase(Path.Combine(data.Path, "gateway.db"));
        await database.MigrateAsync(CancellationToken.None);
        var recorder = new RecordingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(recorder).SetMinimumLevel(LogLevel.Debug));
        var pause = new DatabaseWritePause(database, TimeProvider.System, loggers.CreateLogger<DatabaseWritePause>());

        // A constraint violation is about the row, not the database: other items can still commit.
        var constraint = Assert.ThrowsAsync<StorageException>(() => database.WriteAsync(
            (c, t) => c.ExecuteAsync("INSERT INTO storage_probe (id, probed_at) VALUES (1, 0)", transaction: t), CancellationToken.None));
        pause.Report(constraint!);
        pause.Report(new IOException("not the database"));

        Assert.That(pause.IsPaused, Is.False);
        Assert.That(recorder.Count(PausedEvent), Is.Zero);
        SqliteConnection.ClearAllPools();
    }

    /// <summary>One small real write, as the queue makes them; the exception when it fails, else null.</summary>
    private static async Task<StorageException?> FailedWriteAsync(GatewayDatabase database)
    {
        try
        {
            await database.WriteAsync((c, t) => c.ExecuteAsync(
                "INSERT INTO messages (queue_id, state, sender, recipient_count, size, spool_path, received_at, attempts, next_attempt_at) " +
                "VALUES (@id, 'Received', 's', 1, 1, 'p', 0, 0, 0)", new { id = Guid.NewGuid().ToString("N") }, t), CancellationToken.None);
            return null;
        }
        catch (StorageException e)
        {
            return e;
        }
    }
}
