using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using PhiMailGateway.Bench.Content;

namespace PhiMailGateway.Bench.Targets;

/// <summary>
/// The gateway from its Release build, as `dotnet PhiMailGateway.dll serve`, with a temporary data
/// directory, a free SMTP port, the loopback client trusted (no AUTH, like Postfix's mynetworks),
/// and relay to the sink over plaintext loopback (Relay:Security=None). Shipped configuration
/// otherwise (default rules, log level Information unless --gateway-log-level says otherwise).
/// </summary>
public sealed class GatewayTarget(string repoRoot, string? logLevel, IReadOnlyList<string> extraArgs) : IMailTarget
{
    internal const string BenchUser = "bench-frontdesk";
    internal const string BenchPassword = "bench passphrase for the front desk";

    private Process? _process;
    private string? _dataDirectory;
    private StreamWriter? _log;

    public string Name => "gateway";
    public int SmtpPort { get; private set; }

    /// <summary>The Outlook shape when it authenticates: then the loopback client is not trusted, so relaying needs the AUTH.</summary>
    public Load.SessionOpening Opening { get; init; } = Load.SessionOpening.Plain;

    public Load.SessionOpening ClientOpening => Opening.Authenticates ? Opening with { User = BenchUser, Password = BenchPassword } : Opening;
    /// <summary>Run the ReadyToRun publish (<see cref="BuildAsync"/> with readyToRun) instead of the plain Release build.</summary>
    public bool ReadyToRun { get; init; }

    /// <summary>Extra environment variables for the gateway process, as NAME=VALUE (e.g. DOTNET_TieredCompilation=0).</summary>
    public IReadOnlyList<string> ExtraEnvironment { get; init; } = [];

    public string GatewayDll => ReadyToRun
        ? Path.Combine(ReadyToRunFolder(repoRoot), "PhiMailGateway.dll")
        : Path.Combine(repoRoot, "src", "PhiMailGateway", "bin", "Release", "net10.0", "PhiMailGateway.dll");

    private static string ReadyToRunFolder(string repoRoot) => Path.Combine(repoRoot, "bench", "PhiMailGateway.Bench", "bin", "gateway-r2r");

    /// <summary>
    /// `dotnet build -c Release` of the gateway, so the measured build is the current source; with
    /// readyToRun, `dotnet publish` with PublishReadyToRun as the Dockerfile does (precompiled code, so
    /// the first messages after a start do not wait for the JIT).
    /// </summary>
    public static async Task BuildAsync(string repoRoot, bool readyToRun = false)
    {
        var project = Path.Combine(repoRoot, "src", "PhiMailGateway", "PhiMailGateway.csproj");
        Console.WriteLine(readyToRun ? "Publishing the gateway (Release, ReadyToRun)..." : "Building the gateway (Release)...");
        var (code, output) = readyToRun
            ? await Shell.RunAsync("dotnet", ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "false", "-p:PublishReadyToRun=true",
                "-p:UseAppHost=false", "-o", ReadyToRunFolder(repoRoot), "--nologo", "-v", "q"], repoRoot)
            : await Shell.RunAsync("dotnet", ["build", "-c", "Release", "--nologo", "-v", "q", project], repoRoot);
        if (code != 0) throw new InvalidOperationException($"dotnet {(readyToRun ? "publish" : "build")} of the gateway failed:\n" + output);
    }

    public async Task<string?> StartAsync(Scenario scenario, Upstreams upstreams, CancellationToken cancellationToken)
    {
        if (!File.Exists(GatewayDll)) throw new FileNotFoundException($"Gateway build not found at {GatewayDll}; run without --no-build.");
        _dataDirectory = Path.Combine(Path.GetTempPath(), "phimail-bench-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dataDirectory);
        SmtpPort = FreePort();
        var config = new List<string>
        {
            $"--Gateway:DataDirectory={_dataDirectory}",
            $"--Smtp:Port={SmtpPort}",
            "--Smtp:Address=127.0.0.1",
            "--Relay:Mode=Smtp",
            "--Relay:Host=127.0.0.1",
            $"--Relay:Port={upstreams.SmarthostPort}",
            "--Relay:Security=None",
        };
        if (!Opening.Authenticates) config.Add("--Smtp:TrustedNetworks:0=127.0.0.0/8");
        var pickupPort = FreePort();
        config.Add($"--Pickup:Port={pickupPort}");
        config.Add($"--Pickup:BaseUrl=http://127.0.0.1:{pickupPort}");
        if (scenario.Needs.HasFlag(Feature.Direct))
        {
            if (upstreams.Direct is null) throw new InvalidOperationException($"{scenario.Name} needs the recipient domains' MX and DNS.");
            config.AddRange(upstreams.Direct.GatewayArgs(scenario));
        }
        if (logLevel is not null) config.Add($"--Logging:LogLevel:Default={logLevel}");
        config.AddRange(extraArgs);

        if (scenario.Needs.HasFlag(Feature.Smime))
        {
            var certFile = Path.Combine(_dataDirectory, "recipient.crt");
            await File.WriteAllTextAsync(certFile, BenchCertificates.RecipientCertificatePem(), cancellationToken);
            var (code, output) = await Shell.RunAsync("dotnet", [GatewayDll, "certs", "import", certFile, .. config], _dataDirectory);
            if (code != 0)
            {
                var why = output.Contains("Unknown verb", StringComparison.OrdinalIgnoreCase) ? "no `certs import` verb" : $"`certs import` exit {code}: {FirstLine(output)}";
                return $"skipped: feature not available ({why})";
            }
        }

        if (Opening.Authenticates)
        {
            var (code, output) = await Shell.RunAsync("dotnet", [GatewayDll, "users", "add", BenchUser, .. config], _dataDirectory, stdin: BenchPassword + "\n");
            if (code != 0) throw new InvalidOperationException($"`users add` exit {code}: {FirstLine(output)}");
        }

        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = _dataDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(GatewayDll);
        start.ArgumentList.Add("serve");
        foreach (var arg in config) start.ArgumentList.Add(arg);
        foreach (var variable in ExtraEnvironment)
        {
            var eq = variable.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0) throw new ArgumentException($"--gateway-env wants NAME=VALUE (got '{variable}').");
            start.Environment[variable[..eq]] = variable[(eq + 1)..];
        }
        _log = new StreamWriter(Path.Combine(_dataDirectory, "gateway.log")) { AutoFlush = false };
        _process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the gateway.");
        var log = _log;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.WriteLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        await WaitForGreetingAsync(SmtpPort, _process, cancellationToken);
        return null;
    }

    internal static async Task WaitForGreetingAsync(int port, Process? process, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            if (process is { HasExited: true }) throw new InvalidOperationException($"The server exited with code {process.ExitCode} before listening.");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                var buffer = new byte[512];
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromSeconds(5));
                var read = await client.GetStream().ReadAsync(buffer, timeout.Token);
                if (read >= 3 && buffer[0] == '2' && buffer[1] == '2' && buffer[2] == '0')
                {
                    await client.GetStream().WriteAsync("QUIT\r\n"u8.ToArray(), cancellationToken);
                    return;
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
            }
            await Task.Delay(100, cancellationToken);
        }
        throw new TimeoutException($"No SMTP greeting on port {port} within 60 s.");
    }

    public double CpuSeconds() => _process is null ? 0 : Load.ProcStats.CpuSeconds(_process.Id);

    public long RssBytes() => _process is null ? 0 : Load.ProcStats.StatusBytes(_process.Id, "VmRSS");

    public long? PeakRssBytes() => _process is null ? null : Load.ProcStats.StatusBytes(_process.Id, "VmHWM");

    public void ResetPeakRss()
    {
        if (_process is not null) Load.ProcStats.ResetHighWaterMark(_process.Id);
    }

    public int HeldCount()
    {
        var hold = _dataDirectory is null ? null : Path.Combine(_dataDirectory, "spool", "hold");
        return hold is not null && Directory.Exists(hold) ? Directory.EnumerateFiles(hold).Count() : 0;
    }

    public async Task StopAsync()
    {
        if (_process is { } p)
        {
            if (!p.HasExited)
            {
                // SIGTERM: the host stops gracefully; kill if it does not within 20 s.
                _ = Shell.Kill(p.Id, "TERM");
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
                try { await p.WaitForExitAsync(timeout.Token); }
                catch (OperationCanceledException) { p.Kill(entireProcessTree: true); await p.WaitForExitAsync(); }
            }
            p.Dispose();
            _process = null;
        }
        if (_log is not null)
        {
            lock (_log) _log.Dispose();
            _log = null;
        }
        if (_dataDirectory is not null && Environment.GetEnvironmentVariable("PHIMAIL_BENCH_KEEP") is null)
        {
            try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
            _dataDirectory = null;
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string FirstLine(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "";
}
