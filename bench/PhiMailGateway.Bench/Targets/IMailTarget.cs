using PhiMailGateway.Bench.Content;
using PhiMailGateway.Bench.Direct;

namespace PhiMailGateway.Bench.Targets;

/// <summary>A mail server under test, started fresh (empty queue) for each run, relaying to the sink.</summary>
public interface IMailTarget : IAsyncDisposable
{
    string Name { get; }

    int SmtpPort { get; }

    /// <summary>How the load client opens each session with this server (Postfix has no SASL here, so it never gets AUTH).</summary>
    Load.SessionOpening ClientOpening { get; }

    /// <summary>Prepares for a scenario (e.g. imports the recipient certificate) and starts; returns a skip reason when the scenario cannot run here.</summary>
    Task<string?> StartAsync(Scenario scenario, Upstreams upstreams, CancellationToken cancellationToken);

    Task StopAsync();

    /// <summary>CPU seconds of everything the server runs (process tree), so far.</summary>
    double CpuSeconds();

    /// <summary>Current resident memory of the server's processes.</summary>
    long RssBytes();

    /// <summary>The kernel's high-water mark of resident memory, when the server is one process; else null (then polled RSS is used).</summary>
    long? PeakRssBytes();

    /// <summary>Restarts the high-water mark at the current resident memory (after the warm-up), where the kernel allows it.</summary>
    void ResetPeakRss();

    /// <summary>Messages the server set aside instead of relaying (the gateway's spool/hold).</summary>
    int HeldCount();
}

/// <summary>Where a server under test sends mail: the smarthost sink (port on 127.0.0.1), and for TLS-first scenarios the recipient domains' MX and DNS.</summary>
public sealed record Upstreams(int SmarthostPort, RecipientDomains? Direct);
