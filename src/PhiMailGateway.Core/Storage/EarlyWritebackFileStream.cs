using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace PhiMailGateway.Storage;

/// <summary>
/// A file that starts on its way to disk while it is being written: after each
/// <see cref="Step"/> of bytes it asks the kernel to begin writing them out
/// (<c>sync_file_range(SYNC_FILE_RANGE_WRITE)</c>, which does not wait), so the
/// <c>Flush(flushToDisk: true)</c> at the end waits for the last part instead of the whole file.
/// The encryption that produces the bytes is time the disk can use. Durability is unchanged: the fsync at the end is still what the caller relies on. Elsewhere than Linux the
/// file behaves as a plain FileStream. Asynchronous writes end in the synchronous ones here
/// (<see cref="InlineFileStream"/>), so those are the only ones that need to count.
/// </summary>
public sealed partial class EarlyWritebackFileStream(string path, FileStreamOptions options) : InlineFileStream(path, options)
{
    /// <summary>Small files (a notice, a 100 KB message) never start writeback early: one fsync is cheaper than two calls.</summary>
    public const long Step = 1 << 20;

    private long _started;

    /// <summary>Write-outs the kernel accepted (what the tests check the system call by).</summary>
    internal int WritebacksStarted { get; private set; }

    public override void Write(byte[] buffer, int offset, int count)
    {
        base.Write(buffer, offset, count);
        StartWritebackIfDue();
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        base.Write(buffer);
        StartWritebackIfDue();
    }

    public override void WriteByte(byte value)
    {
        base.WriteByte(value);
        StartWritebackIfDue();
    }

    private void StartWritebackIfDue()
    {
        if (Position - _started < Step) return;
        base.Flush(); // our buffer to the kernel, not to disk
        var end = Position;
        if (OperatingSystem.IsLinux())
        {
            // A hint: when it fails (an old kernel, a file system without it) the fsync does it all.
            try
            {
                if (SyncFileRange(SafeFileHandle, _started, end - _started, SyncFileRangeWrite) == 0) WritebacksStarted++;
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
            }
        }
        _started = end;
    }

    private const uint SyncFileRangeWrite = 2;

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long count, uint flags);
}
