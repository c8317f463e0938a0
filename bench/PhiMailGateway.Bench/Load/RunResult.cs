using System.Globalization;

namespace PhiMailGateway.Bench.Load;

/// <summary>What one run of one scenario through one server measured. Status is "ok", or why not.</summary>
public sealed record RunResult(
    string Target,
    string Scenario,
    int Sessions,
    int Messages,
    string Status,
    int Accepted = 0,
    int Refused = 0,
    int Relayed = 0,
    double AcceptedPerSecond = 0,
    double EndToEndPerSecond = 0,
    double MegabytesPerSecond = 0,
    double AcceptP50Ms = 0,
    double AcceptP99Ms = 0,
    double RelayP50Ms = 0,
    double RelayP99Ms = 0,
    double CpuMsPerMessage = 0,
    double EnvelopeP50Ms = 0,
    double IdleRssMiB = 0,
    double PeakRssMiB = 0,
    double WarmRssMiB = 0,
    double? SettledRssMiB = null,
    string? Note = null)
{
    public bool Ok => Status == "ok";

    public static string Header =>
        $"{"target",-8} {"scenario",-18} {"sess",4} {"msgs",5} {"acc/s",8} {"e2e/s",8} {"MB/s",7} {"250 p50",8} {"250 p99",8} {"rel p50",8} {"rel p99",8} {"cpu ms/m",8} {"idleMiB",7} {"warmMiB",7} {"peakMiB",7} {"env p50",7}  status";

    public override string ToString() => Ok
        ? string.Create(CultureInfo.InvariantCulture,
            $"{Target,-8} {Scenario,-18} {Sessions,4} {Messages,5} {AcceptedPerSecond,8:F1} {EndToEndPerSecond,8:F1} {MegabytesPerSecond,7:F2} {AcceptP50Ms,8:F1} {AcceptP99Ms,8:F1} {RelayP50Ms,8:F1} {RelayP99Ms,8:F1} {CpuMsPerMessage,8:F2} {IdleRssMiB,7:F0} {WarmRssMiB,7:F0} {PeakRssMiB,7:F0} {EnvelopeP50Ms,7:F1}  ok{(SettledRssMiB is { } settled ? $"  settled {settled:F0} MiB" : "")}{(Note is null ? "" : "  " + Note)}")
        : $"{Target,-8} {Scenario,-18} {Sessions,4} {Messages,5}  {Status}";

    public static string CsvHeader => "utc,target,scenario,sessions,messages,status,accepted,refused,relayed,acc_per_s,e2e_per_s,mb_per_s,accept_p50_ms,accept_p99_ms,relay_p50_ms,relay_p99_ms,cpu_ms_per_msg,idle_rss_mib,peak_rss_mib,warm_rss_mib,settled_rss_mib,envelope_p50_ms,loadavg";

    public string ToCsv(string loadAverage) => string.Create(CultureInfo.InvariantCulture,
        $"{DateTime.UtcNow:O},{Target},{Scenario},{Sessions},{Messages},\"{Status.Replace("\"", "'", StringComparison.Ordinal)}\",{Accepted},{Refused},{Relayed},{AcceptedPerSecond:F2},{EndToEndPerSecond:F2},{MegabytesPerSecond:F3},{AcceptP50Ms:F2},{AcceptP99Ms:F2},{RelayP50Ms:F2},{RelayP99Ms:F2},{CpuMsPerMessage:F3},{IdleRssMiB:F1},{PeakRssMiB:F1},{WarmRssMiB:F1},{SettledRssMiB:F1},{EnvelopeP50Ms:F2},\"{loadAverage}\"");
}

public static class Stats
{
    /// <summary>Nearest-rank percentile of an unsorted list (0 when empty).</summary>
    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0) return 0;
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        if (sorted.Length == 0) return double.NaN;
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "?"; }
    }
}
