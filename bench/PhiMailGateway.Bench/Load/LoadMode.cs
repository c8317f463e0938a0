using System.Globalization;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Bench.Direct;
using PhiMailGateway.Bench.Targets;

namespace PhiMailGateway.Bench.Load;

/// <summary>The `load` and `compare` modes: runs, printing, medians and ratios.</summary>
public static class LoadMode
{
    public static async Task<int> RunAsync(BenchArgs args, bool compare)
    {
        var repoRoot = RepoRoot.Find();
        var scenarioNames = args.List("scenario", "relay-1k");
        var sessionCounts = args.List("sessions", "1", "20").Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList();
        var runs = args.Number("runs") ?? 1;
        var pairs = args.Number("pairs") ?? 5;
        var timeout = args.Number("timeout") is { } t ? TimeSpan.FromSeconds(t) : (TimeSpan?)null;
        var csv = args.Value("csv");
        var targetName = args.Value("target") ?? "gateway";
        if (targetName is not ("gateway" or "postfix")) throw new ArgumentException("--target must be gateway or postfix.");

        var readyToRun = args.Flag("ready-to-run");
        if (!args.Flag("no-build") && (compare || targetName == "gateway")) await GatewayTarget.BuildAsync(repoRoot, readyToRun);
        if (compare || targetName == "postfix") await PostfixTarget.EnsureInstalledAsync();

        // --auth is the Outlook shape (STARTTLS then AUTH PLAIN); --starttls alone is its TLS share.
        var opening = new SessionOpening(args.Flag("starttls") || args.Flag("auth"), args.Flag("auth") ? "set by the target" : null);
        var smtpSource = (args.Value("client") ?? "builtin") switch
        {
            "builtin" => false,
            "smtp-source" => true,
            var other => throw new ArgumentException($"--client must be builtin or smtp-source (got {other})."),
        };
        if (smtpSource && opening.StartTls) throw new ArgumentException("--client smtp-source has no STARTTLS or AUTH; leave out --starttls and --auth.");
        IMailTarget NewGateway() => new GatewayTarget(repoRoot, args.Value("gateway-log-level"), args.Raw("gateway-arg").Select(a => "--" + a).ToList()) { Opening = opening, ReadyToRun = readyToRun, ExtraEnvironment = args.Raw("gateway-env") };
        IMailTarget NewPostfix() => new PostfixTarget { Opening = opening };

        await using var sink = new SmtpSink(chunking: !args.Flag("sink-no-chunking"));
        // The recipient domains' MX sink and DNS, only when a TLS-first scenario runs.
        await using var direct = scenarioNames.Any(n => Scenario.Create(n).Needs.HasFlag(Feature.Direct)) ? RecipientDomains.Start() : null;
        if (direct is not null) Console.WriteLine($"TLS-first: MX sink {direct.Sink.Address}:{direct.Sink.Port} (STARTTLS, bench CA), DNS {direct.Resolver}");
        var settle = args.Number("settle") is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
        var runner = new LoadRunner(sink, direct, timeout)
        {
            Pipelining = !args.Flag("no-pipelining"),
            ConnectionPerMessage = args.Flag("connection-per-message"),
            SmtpSource = smtpSource,
            Settle = settle,
        };
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}; load average {Stats.LoadAverage()}");
        Console.WriteLine($"Client: {(smtpSource ? "smtp-source" : "built-in")}, {(runner.ConnectionPerMessage ? "a new connection per message" : "one connection per session")}" +
            $"{(opening.StartTls ? ", STARTTLS" : "")}{(opening.Authenticates ? ", AUTH PLAIN (gateway only: Postfix has no SASL here)" : "")}; sink {(sink.OffersChunking ? "with" : "without")} CHUNKING");
        Console.WriteLine(RunResult.Header);

        var all = new List<RunResult>();
        async Task<RunResult> Run(IMailTarget target, Scenario scenario, int sessions)
        {
            var messages = args.Number("messages") ?? scenario.DefaultMessages(sessions);
            var result = await runner.RunAsync(target, scenario, sessions, messages, args.Number("warmup"), CancellationToken.None);
            Console.WriteLine(result + $"   (load {Stats.LoadAverage()})");
            all.Add(result);
            if (csv is not null)
            {
                if (!File.Exists(csv)) await File.AppendAllTextAsync(csv, RunResult.CsvHeader + "\n");
                await File.AppendAllTextAsync(csv, result.ToCsv(Stats.LoadAverage()) + "\n");
            }
            return result;
        }

        var summaries = new List<string>();
        foreach (var name in scenarioNames)
        {
            var scenario = Scenario.Create(name);
            foreach (var sessions in sessionCounts)
            {
                if (!compare)
                {
                    var results = new List<RunResult>();
                    for (var r = 0; r < runs; r++)
                    {
                        await using var target = targetName == "postfix" ? NewPostfix() : NewGateway();
                        var result = await Run(target, scenario, sessions);
                        results.Add(result);
                        if (!result.Ok) break;
                    }
                    if (runs > 1 && results.All(x => x.Ok)) summaries.Add(Median(results).ToString() + $"   (median of {runs})");
                    continue;
                }

                var gateway = new List<RunResult>();
                var postfix = new List<RunResult>();
                string? stopped = null;
                for (var p = 0; p < pairs && stopped is null; p++)
                {
                    // Alternate the order within pairs, so a drift in machine load does not favour one side.
                    var order = p % 2 == 0 ? new[] { "gateway", "postfix" } : ["postfix", "gateway"];
                    foreach (var which in order)
                    {
                        await using var target = which == "gateway" ? NewGateway() : NewPostfix();
                        var result = await Run(target, scenario, sessions);
                        if (!result.Ok) { stopped = $"{which}: {result.Status}"; break; }
                        (which == "gateway" ? gateway : postfix).Add(result);
                    }
                }
                summaries.Add(stopped is not null
                    ? $"{scenario.Name,-18} {sessions,4}  {stopped}"
                    : CompareLine(scenario.Name, sessions, gateway, postfix));
            }
        }

        if (summaries.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine(compare
                ? $"Medians of {pairs} pairs (ratio = median of per-pair gateway/Postfix ratios); load average now {Stats.LoadAverage()}"
                : "Medians");
            if (compare)
                Console.WriteLine($"{"scenario",-18} {"sess",4}  {"gw e2e/s",9} {"pf e2e/s",9} {"ratio",6}  {"gw acc/s",9} {"pf acc/s",9} {"ratio",6}  {"gw 250p99",9} {"pf 250p99",9}  {"gw rel p50",10} {"pf rel p50",10}  {"gw cpu ms",9} {"pf cpu ms",9}  {"gw warm",7} {"gw peak",7} {"pf peak",7}");
            else
                Console.WriteLine(RunResult.Header);
            foreach (var line in summaries) Console.WriteLine(line);
        }
        return all.Any(r => r.Status.StartsWith("failed", StringComparison.Ordinal)) ? 1 : 0;
    }

    private static string CompareLine(string scenario, int sessions, List<RunResult> gw, List<RunResult> pf)
    {
        var n = Math.Min(gw.Count, pf.Count);
        double M(IEnumerable<double> v) => Stats.Median(v);
        double Ratio(Func<RunResult, double> f) => M(Enumerable.Range(0, n).Select(i => f(gw[i]) / f(pf[i])));
        return string.Create(CultureInfo.InvariantCulture,
            $"{scenario,-18} {sessions,4}  {M(gw.Select(r => r.EndToEndPerSecond)),9:F1} {M(pf.Select(r => r.EndToEndPerSecond)),9:F1} {Ratio(r => r.EndToEndPerSecond),6:F2}  " +
            $"{M(gw.Select(r => r.AcceptedPerSecond)),9:F1} {M(pf.Select(r => r.AcceptedPerSecond)),9:F1} {Ratio(r => r.AcceptedPerSecond),6:F2}  " +
            $"{M(gw.Select(r => r.AcceptP99Ms)),9:F1} {M(pf.Select(r => r.AcceptP99Ms)),9:F1}  " +
            $"{M(gw.Select(r => r.RelayP50Ms)),10:F1} {M(pf.Select(r => r.RelayP50Ms)),10:F1}  " +
            $"{M(gw.Select(r => r.CpuMsPerMessage)),9:F2} {M(pf.Select(r => r.CpuMsPerMessage)),9:F2}  " +
            $"{M(gw.Select(r => r.WarmRssMiB)),7:F0} {M(gw.Select(r => r.PeakRssMiB)),7:F0} {M(pf.Select(r => r.PeakRssMiB)),7:F0}");
    }

    private static RunResult Median(List<RunResult> r) => r[0] with
    {
        Status = "ok",
        AcceptedPerSecond = Stats.Median(r.Select(x => x.AcceptedPerSecond)),
        EndToEndPerSecond = Stats.Median(r.Select(x => x.EndToEndPerSecond)),
        MegabytesPerSecond = Stats.Median(r.Select(x => x.MegabytesPerSecond)),
        AcceptP50Ms = Stats.Median(r.Select(x => x.AcceptP50Ms)),
        AcceptP99Ms = Stats.Median(r.Select(x => x.AcceptP99Ms)),
        RelayP50Ms = Stats.Median(r.Select(x => x.RelayP50Ms)),
        RelayP99Ms = Stats.Median(r.Select(x => x.RelayP99Ms)),
        CpuMsPerMessage = Stats.Median(r.Select(x => x.CpuMsPerMessage)),
        IdleRssMiB = Stats.Median(r.Select(x => x.IdleRssMiB)),
        PeakRssMiB = Stats.Median(r.Select(x => x.PeakRssMiB)),
        WarmRssMiB = Stats.Median(r.Select(x => x.WarmRssMiB)),
        EnvelopeP50Ms = Stats.Median(r.Select(x => x.EnvelopeP50Ms)),
    };
}

/// <summary>The repository root: the nearest folder upwards (from the working folder, else the binary) that holds PhiMailGateway.sln.</summary>
public static class RepoRoot
{
    public static string Find()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "PhiMailGateway.sln"))) return dir.FullName;
            }
        }
        throw new InvalidOperationException("Cannot find the repository root (PhiMailGateway.sln) above the working folder.");
    }
}
