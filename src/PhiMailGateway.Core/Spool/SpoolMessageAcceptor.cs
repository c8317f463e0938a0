using System.Buffers;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Spool;

/// <summary>
/// Makes an accepted message durable, in Postfix's order: write a temp file, flush it to disk,
/// rename it into <c>incoming/</c>, record the queue row, and only then let ingress answer 250.
/// The row's commit (an fsync of the database's log) is the commit point, not the rename: the
/// folder is not fsynced per message (the row already makes the message durable, and a second
/// fsync per message would only repeat it). A crash can undo a rename whose row committed; the start-up
/// rescan then finds the file in <c>tmp/</c> with its row and puts it back into <c>incoming/</c>
/// (<see cref="SpoolRecovery"/>). The file's own entry in <c>tmp/</c> is made durable by the
/// file system with the file's fsync, as ext4, XFS and btrfs do and as Postfix relies on. If
/// anything fails before the row commits, the file is removed again so that the 451 the client
/// hears means "nothing kept; send it again".
/// </summary>
public sealed partial class SpoolMessageAcceptor(
    SpoolDirectory spool,
    IMessageQueue queue,
    GatewayOptions gateway,
    ProcessingSignal signal,
    TimeProvider time,
    ILogger<SpoolMessageAcceptor> logger) : IMessageAcceptor
{
    public async Task<AcceptResult> AcceptAsync(Envelope envelope, ReadOnlySequence<byte> message, CancellationToken cancellationToken)
    {
        var queueId = QueueId.New(time.GetUtcNow());
        var tempPath = Path.Combine(spool.Temp, queueId + ".tmp");
        var finalPath = spool.IncomingPath(queueId);
        var renamed = false;
        try
        {
            (long Offset, long Length) written;
            await using (var file = OwnerOnly.CreateNew(tempPath))
            {
                written = await SpoolFile.WriteAsync(file, envelope, ReceivedHeader.Build(envelope, queueId, gateway.HostName), message, cancellationToken);
                file.Flush(flushToDisk: true);
            }
            File.Move(tempPath, finalPath);
            renamed = true;

            var entry = new SpoolEntry(queueId, finalPath, written.Offset, written.Length, envelope);
            await queue.RecordReceivedAsync(entry, cancellationToken);
            LogAccepted(logger, queueId, entry.MessageLength, envelope.Recipients.Count);
            signal.Notify();
            return new AcceptResult.Accepted(queueId);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or StorageException or InvalidDataException or OperationCanceledException)
        {
            LogTransient(logger, queueId, e.GetType().Name, e switch
            {
                StorageUnavailableException unavailable => unavailable.Reason,
                StorageException => "storage error",
                _ => $"HResult {e.HResult}",
            });
            TryDelete(renamed ? finalPath : tempPath);
            if (renamed) TryFlush(spool.Incoming);
            return new AcceptResult.Transient(e is StorageException ? "queue database busy" : "spool storage unavailable");
        }
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static void TryFlush(string directory)
    {
        try { DirectorySync.Flush(directory); } catch (IOException) { }
    }

    // Debug: ingress logs the same acceptance at Information (1010), with the session.
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Queued {QueueId}: {Size} bytes, {RecipientCount} recipients")]
    private static partial void LogAccepted(ILogger logger, string queueId, long size, int recipientCount);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Warning, Message = "Could not queue {QueueId} ({ErrorType}: {Reason}); client told to retry (451)")]
    private static partial void LogTransient(ILogger logger, string queueId, string errorType, string reason);
}
