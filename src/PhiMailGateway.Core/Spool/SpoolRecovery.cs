using Microsoft.Extensions.Logging;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Spool;

/// <summary>
/// Recovery after a crash is a rescan of the spool, never in-memory state (as in Postfix):
/// a file in <c>tmp/</c> whose queue row committed was acknowledged and only lost its rename, so it
/// goes back into <c>incoming/</c>; any other file there was never acknowledged and goes; every
/// file in <c>incoming/</c> gets its queue row back if it lost it; a file that cannot be read moves
/// to <c>corrupt/</c>, is logged, and the rest keeps flowing.
/// </summary>
public sealed partial class SpoolRecovery(SpoolDirectory spool, IMessageQueue queue, ILogger<SpoolRecovery> logger)
{
    public async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var restored = 0;
        foreach (var leftover in Directory.EnumerateFiles(spool.Temp, "*.tmp"))
        {
            var queueId = Path.GetFileNameWithoutExtension(leftover);
            var known = QueueId.IsValid(queueId) ? await queue.FindMessageAsync(queueId, cancellationToken) : null;
            if (known is not null && known.SpoolPath == spool.IncomingPath(queueId) && !File.Exists(known.SpoolPath))
            {
                File.Move(leftover, known.SpoolPath);
                restored++;
            }
        }
        if (restored > 0) DirectorySync.Flush(spool.Incoming);

        // Never acknowledged (tmp) or only ever a working copy (scratch): nothing to keep.
        foreach (var leftover in Directory.EnumerateFiles(spool.Temp).Concat(Directory.EnumerateFiles(spool.Scratch)))
        {
            File.Delete(leftover);
        }

        var recovered = 0;
        foreach (var path in Directory.EnumerateFiles(spool.Incoming, "*.msg"))
        {
            SpoolEntry entry;
            try
            {
                entry = SpoolFile.Read(path);
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                MoveToCorrupt(path, e);
                continue;
            }
            var known = await queue.FindMessageAsync(entry.QueueId, cancellationToken);
            if (known is null)
            {
                await queue.RecordReceivedAsync(entry, cancellationToken);
                recovered++;
            }
            else if (known.State == MessageStates.Done)
            {
                // Finished before the crash; its deletion did not reach the disk.
                File.Delete(path);
            }
        }
        LogRescan(logger, recovered, restored);
    }

    /// <summary>Keeps an unreadable file for a person to look at, out of the way of the queue.</summary>
    public void MoveToCorrupt(string path, Exception reason)
    {
        var name = Path.GetFileName(path);
        var target = Path.Combine(spool.Corrupt, name);
        if (File.Exists(target)) target = Path.Combine(spool.Corrupt, $"{Path.GetFileNameWithoutExtension(name)}.{DateTime.UtcNow.Ticks}{Path.GetExtension(name)}");
        File.Move(path, target);
        DirectorySync.Flush(spool.Corrupt);
        LogCorrupt(logger, name, reason.GetType().Name);
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Spool rescan done: {Recovered} messages re-queued from spool files, {Restored} moved back from tmp/ (their rename was lost)")]
    private static partial void LogRescan(ILogger logger, int recovered, int restored);

    // The spool file name is the queue id, never an attachment name.
    [LoggerMessage(EventId = 2102, Level = LogLevel.Error, Message = "Spool file {SpoolFile} is unreadable ({Reason}); moved to corrupt/")]
    private static partial void LogCorrupt(ILogger logger, string spoolFile, string reason);
}
