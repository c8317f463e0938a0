using System.Diagnostics;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A tmpfs of a few MiB mounted on a fresh temp folder (tests run as root here and in CI), for
/// tests of what the gateway does when its disk fills up: <see cref="Fill"/> writes a filler file
/// until the kernel answers ENOSPC, <see cref="Free"/> deletes it again. Dispose unmounts, also
/// after a failed test.
/// </summary>
public sealed class SmallDisk : IDisposable
{
    private readonly string _filler;

    private SmallDisk(string path)
    {
        Path = path;
        _filler = System.IO.Path.Combine(path, "filler.bin");
    }

    public string Path { get; }

    public static SmallDisk Mount(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "phimail-disk-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        Run("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        return new SmallDisk(path);
    }

    /// <summary>Writes the filler until the kernel refuses (ENOSPC); returns the bytes it took.</summary>
    public long Fill()
    {
        var chunk = new byte[64 * 1024];
        // Unbuffered: each Write is one write(2); a short write is continued until the disk refuses.
        using var stream = new FileStream(_filler, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
        try
        {
            while (true) stream.Write(chunk);
        }
        catch (IOException)
        {
            return stream.Length;
        }
    }

    public void Free() => File.Delete(_filler);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Run("umount", "-l", Path);
            Directory.Delete(Path);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
            TestContext.Progress.WriteLine($"SmallDisk: could not unmount {Path}: {e.Message}");
        }
    }

    private static void Run(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({process.ExitCode}): {error.Trim()}");
    }
}
