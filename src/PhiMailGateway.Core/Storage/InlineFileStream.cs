using System.Runtime.InteropServices;

namespace PhiMailGateway.Storage;

/// <summary>
/// A FileStream whose asynchronous reads and writes make their system call on the calling thread
/// and complete before returning. On Linux, .NET runs every asynchronous file operation as the same
/// synchronous call on a thread-pool thread, and awaits it. For the spool's page-cache reads and
/// writes those hand-offs (one per 80 KiB) cost more than the calls, and they moved queue work off
/// its lower-priority threads onto the pool that SMTP sessions use
/// (see <c>BackgroundWorkScheduler</c>). Only for local files of ours; never for sockets.
/// Arrays go to the array overloads: FileStream sends a derived class's span calls through a
/// rented array, a copy of every byte.
/// </summary>
public class InlineFileStream(string path, FileStreamOptions options) : FileStream(path, options)
{
    /// <summary>Opens an existing file for one front-to-back read (the spool, a copy to relay).</summary>
    public static InlineFileStream OpenSequential(string path, FileShare share = FileShare.Read, int bufferSize = 81920) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = share,
            BufferSize = bufferSize,
            Options = FileOptions.SequentialScan,
        });

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled<int>(cancellationToken);
        try
        {
            return ValueTask.FromResult(MemoryMarshal.TryGetArray<byte>(buffer, out var array)
                ? Read(array.Array!, array.Offset, array.Count)
                : Read(buffer.Span));
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested) return ValueTask.FromCanceled(cancellationToken);
        try
        {
            if (MemoryMarshal.TryGetArray(buffer, out var array)) Write(array.Array!, array.Offset, array.Count);
            else Write(buffer.Span);
            return ValueTask.CompletedTask;
        }
        catch (Exception e)
        {
            return ValueTask.FromException(e);
        }
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested) return Task.FromCanceled(cancellationToken);
        try
        {
            Flush();
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }
}
