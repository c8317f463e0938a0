using System.Globalization;

namespace PhiMailGateway.Bench.Load;

/// <summary>
/// CPU time and memory of a process (tree) from Linux /proc. CPU is utime+stime in clock ticks
/// (USER_HZ, 100 on Linux); for a tree, the root's cutime+cstime (children already reaped) plus
/// every live child, so children that come and go (Postfix's smtpd, cleanup, smtp) are counted.
/// </summary>
public static class ProcStats
{
    public const double TicksPerSecond = 100.0;

    /// <summary>utime, stime, cutime, cstime and the parent pid, or null when the process is gone.</summary>
    private static (long User, long System, long ChildUser, long ChildSystem, int Parent)? ReadStat(int pid)
    {
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // The command name is in parentheses and may contain spaces: the fields start after the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return (L(fields[11]), L(fields[12]), L(fields[13]), L(fields[14]), (int)L(fields[1]));
        static long L(string s) => long.Parse(s, CultureInfo.InvariantCulture);
    }

    /// <summary>CPU seconds (user + system) of one process, children not included.</summary>
    public static double CpuSeconds(int pid) => ReadStat(pid) is { } s ? (s.User + s.System) / TicksPerSecond : 0;

    /// <summary>CPU seconds of a process and all its descendants, living or reaped.</summary>
    public static double TreeCpuSeconds(int root)
    {
        if (ReadStat(root) is not { } r) return 0;
        long ticks = r.User + r.System + r.ChildUser + r.ChildSystem;
        foreach (var pid in Descendants(root)) ticks += ReadStat(pid) is { } s ? s.User + s.System : 0;
        return ticks / TicksPerSecond;
    }

    /// <summary>A value from /proc/PID/status in bytes (VmRSS, VmHWM), 0 when gone.</summary>
    public static long StatusBytes(int pid, string key)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (!line.StartsWith(key + ":", StringComparison.Ordinal)) continue;
                var kb = line[(key.Length + 1)..].Trim().Split(' ')[0];
                return long.Parse(kb, CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }

    /// <summary>
    /// Sets VmHWM back to the current VmRSS (Linux 4.0+, <c>clear_refs</c> value 5), so that the peak
    /// read later is the measured run's and not the warm-up's. Silently nothing where not allowed.
    /// </summary>
    public static void ResetHighWaterMark(int pid)
    {
        try
        {
            File.WriteAllText($"/proc/{pid}/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Memory of a process tree as the sum of PSS (proportional set size, /proc/PID/smaps_rollup):
    /// shared pages (libc, Postfix's shared libraries) are divided among the processes that map
    /// them, so forty smtpd/cleanup/smtp processes are not counted as forty copies.
    /// </summary>
    public static long TreeRss(int root) => new[] { root }.Concat(Descendants(root)).Sum(Pss);

    private static long Pss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/smaps_rollup"))
            {
                if (!line.StartsWith("Pss:", StringComparison.Ordinal)) continue;
                return long.Parse(line[4..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }

    public static List<int> Descendants(int root)
    {
        var parents = new Dictionary<int, int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            if (ReadStat(pid) is { } s) parents[pid] = s.Parent;
        }
        var result = new List<int>();
        var frontier = new Queue<int>([root]);
        while (frontier.TryDequeue(out var p))
        {
            foreach (var (child, parent) in parents)
            {
                if (parent != p) continue;
                result.Add(child);
                frontier.Enqueue(child);
            }
        }
        return result;
    }
}
