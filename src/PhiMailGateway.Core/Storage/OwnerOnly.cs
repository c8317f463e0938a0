using System.Runtime.InteropServices;

namespace PhiMailGateway.Storage;

/// <summary>
/// Files and folders that hold mail, keys or databases are created readable by the gateway's
/// own user only (0600 / 0700), at creation, so there is no window in which they are wider.
/// </summary>
public static class OwnerOnly
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Creates the folder and any missing parents owner-only; existing folders are left as they are.</summary>
    public static void CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
            return;
        }
        // Directory.CreateDirectory(path, mode) gives the mode to the last folder only; the data
        // directory itself is usually a missing parent here, so create the chain one by one.
        var missing = new Stack<string>();
        for (var dir = Path.GetFullPath(path); !Directory.Exists(dir); dir = Path.GetDirectoryName(dir)!)
        {
            missing.Push(dir);
            if (Path.GetDirectoryName(dir) is null) break;
        }
        while (missing.TryPop(out var dir)) Directory.CreateDirectory(dir, DirectoryMode);
    }

    /// <summary>Creates a new file (failing if it exists) with owner-only permissions, open for writing; large files start on their way to disk as they are written.</summary>
    /// <param name="path">The file to create.</param>
    /// <param name="bufferSize">16 KiB by default: smaller than the blocks the large writers hand over
    /// (the spool's 64 KiB chunks, the S/MIME copy's 78 KiB of base64 lines, the pickup package's
    /// 64 KiB chunks), so those go to the kernel directly instead of through a copy in this buffer,
    /// while headers written a line at a time are still gathered.</param>
    public static FileStream CreateNew(string path, int bufferSize = 16 * 1024)
    {
        var options = new FileStreamOptions
        {
            Mode = System.IO.FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.None,
            BufferSize = bufferSize,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = FileMode;
        return new EarlyWritebackFileStream(path, options);
    }

    /// <summary>Makes sure an existing or new empty file has owner-only permissions (SQLite creates its files itself).</summary>
    public static void EnsureFile(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) CreateDirectory(dir);
        if (!File.Exists(path))
        {
            try
            {
                using var _ = CreateNew(path, 1);
            }
            catch (IOException) when (File.Exists(path))
            {
                // Created by another process between the check and the create: fine, tightened below.
            }
        }
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, FileMode);
    }
}

/// <summary>fsync for folders: a rename is only durable once the folder holding it is synced.</summary>
public static partial class DirectorySync
{
    public static void Flush(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Cannot open folder for fsync (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of folder failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
