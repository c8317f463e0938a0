using System.Collections.Concurrent;
using System.Diagnostics;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Bench.Direct;
using PhiMailGateway.Bench.Targets;

namespace PhiMailGateway.Bench.Load;

/// <summary>
/// One measured run: start the server fresh, warm it up with a few messages of the scenario (JIT,
/// connection pools, SQLite pages), then send N messages over M concurrent sessions, each session
/// reusing its connection, and wait until the sink has every accepted message. A server that holds
/// a message instead of relaying it (the gateway without the feature a scenario needs) ends the run
/// as skipped. A TLS-first scenario's messages are waited for at the recipient's MX sink instead,
/// and a run in which any copy reached the smarthost (a fallback pickup notice) fails.
/// </summary>
public sealed class LoadRunner(SmtpSink sink, RecipientDomains? direct, TimeSpan? timeoutOverride)
{
    /// <summary>Send MAIL, RCPT and DATA in one write when the server offers PIPELINING (as smtp-source does).</summary>
    public bool Pipelining { get; init; } = true;

    /// <summary>Each message on a new connection (greeting, EHLO, transaction, QUIT), as smtp-source and Outlook do, instead of one session for many.</summary>
    public bool ConnectionPerMessage { get; init; }

    /// <summary>Postfix's smtp-source sends instead of the built-in client (plain sessions only; no per-message times).</summary>
    public bool SmtpSource { get; init; }

    /// <summary>When set, how long the server sits idle after the run before its resident memory is read again (settled RSS).</summary>
    public TimeSpan? Settle { get; init; }

    public async Task<RunResult> RunAsync(IMailTarget target, Scenario scenario, int sessions, int messages, int? warmupOverride, CancellationToken cancellationToken)
    {
        RunResult Fail(string status) => new(target.Name, scenario.Name, sessions, messages, status);
        try
        {
            var isDirect = scenario.Needs.HasFlag(Feature.Direct);
            if (isDirect && direct is null) throw new InvalidOperationException($"{scenario.Name} needs the recipient domains' MX and DNS.");
            var arrivalSink = isDirect ? direct!.Sink : sink;
            if (await target.StartAsync(scenario, new Upstreams(sink.Port, direct), cancellationToken) is { } skip) return Fail(skip);
            var idleRss = target.RssBytes();

            var warmup = warmupOverride ?? scenario.Warmup;
            var timeout = timeoutOverride ?? TimeSpan.FromSeconds(60 + (double)Math.Max(messages, warmup) * scenario.Template.Length / (1 << 20));
            if (warmup > 0)
            {
                var tag = $"{scenario.Name}-w{Guid.NewGuid():N}"[..32] + "-";
                BeginRun(arrivalSink, tag);
                if (SmtpSource)
                {
                    await SmtpSourceClient.SendAsync(target.SmtpPort, scenario, Math.Min(sessions, warmup), warmup, ConnectionPerMessage, tag + "src", Path.GetTempPath(), cancellationToken);
                    if (await WaitForSinkAsync(target, arrivalSink, warmup, timeout, cancellationToken) is { } whySource) return Fail(whySource);
                }
                else
                {
                    var (warm, _) = await SendAllAsync(target, scenario, Math.Min(sessions, warmup), warmup, tag, cancellationToken);
                    var accepted = warm.Count(m => m.Code == 250);
                    if (accepted == 0) return Fail($"failed: warm-up messages refused (codes {string.Join(",", warm.Select(m => m.Code).Distinct())})");
                    if (await WaitForSinkAsync(target, arrivalSink, accepted, timeout, cancellationToken) is { } why) return Fail(why);
                }
            }

            // The baseline for what the measured messages cost: the gateway warm (JIT-compiled code,
            // pools and GC heap grown by the warm-up), its peak counted from here.
            var warmRss = target.RssBytes();
            target.ResetPeakRss();
            var runTag = $"{scenario.Name}-r{Guid.NewGuid():N}"[..32] + "-";
            BeginRun(arrivalSink, runTag);
            var dnsBefore = direct?.DnsQueries ?? 0;
            var cpuBefore = target.CpuSeconds();
            long polledPeak = target.RssBytes();
            using var pollStop = new CancellationTokenSource();
            var poller = Task.Run(async () =>
            {
                while (!pollStop.IsCancellationRequested)
                {
                    polledPeak = Math.Max(polledPeak, target.RssBytes());
                    try { await Task.Delay(250, pollStop.Token); } catch (OperationCanceledException) { }
                }
            }, CancellationToken.None);

            if (SmtpSource)
            {
                var (from, sentAll) = await SmtpSourceClient.SendAsync(target.SmtpPort, scenario, sessions, messages, ConnectionPerMessage, runTag + "src", Path.GetTempPath(), cancellationToken);
                var waited = await WaitForSinkAsync(target, arrivalSink, messages, timeout, cancellationToken);
                var cpuDone = target.CpuSeconds();
                await pollStop.CancelAsync();
                await poller;
                if (waited is not null) return Fail(waited);
                var total = (double)(arrivalSink.LastTaggedArrival - from) / Stopwatch.Frequency;
                return new RunResult(target.Name, scenario.Name, sessions, messages, "ok",
                    Accepted: messages, Refused: 0, Relayed: messages,
                    AcceptedPerSecond: messages / ((double)(sentAll - from) / Stopwatch.Frequency),
                    EndToEndPerSecond: messages / total,
                    MegabytesPerSecond: messages * (double)scenario.Template.Length / (1 << 20) / total,
                    AcceptP50Ms: double.NaN, AcceptP99Ms: double.NaN, RelayP50Ms: double.NaN, RelayP99Ms: double.NaN,
                    CpuMsPerMessage: (cpuDone - cpuBefore) * 1000 / messages,
                    EnvelopeP50Ms: double.NaN,
                    IdleRssMiB: idleRss / 1048576.0,
                    WarmRssMiB: warmRss / 1048576.0,
                    PeakRssMiB: (target.PeakRssBytes() ?? polledPeak) / 1048576.0,
                    SettledRssMiB: null,
                    Note: "smtp-source: no per-message times");
            }
            var (sent, started) = await SendAllAsync(target, scenario, sessions, messages, runTag, cancellationToken);
            var ok = sent.Where(m => m.Code == 250).ToList();
            var waitResult = ok.Count == 0 ? null : await WaitForSinkAsync(target, arrivalSink, ok.Count, timeout, cancellationToken);
            var cpuAfter = target.CpuSeconds();
            await pollStop.CancelAsync();
            await poller;
            if (waitResult is not null) return Fail(waitResult);
            if (ok.Count == 0) return Fail($"failed: every message refused (codes {string.Join(",", sent.Select(m => m.Code).Distinct())})");

            var arrivals = arrivalSink.Arrivals;
            var lastAccepted = ok.Max(m => m.Accepted);
            var lastArrival = ok.Max(m => arrivals[m.BenchId]);
            var seconds = (double)(lastArrival - started) / Stopwatch.Frequency;
            var acceptSeconds = (double)(lastAccepted - started) / Stopwatch.Frequency;
            var acceptLatency = ok.Select(m => Ms(m.Accepted - m.DataSent)).ToList();
            var relayLatency = ok.Select(m => Ms(arrivals[m.BenchId] - m.Accepted)).ToList();
            var peak = target.PeakRssBytes() ?? polledPeak;
            double? settledMiB = null;
            if (Settle is { } settle)
            {
                await Task.Delay(settle, cancellationToken);
                settledMiB = target.RssBytes() / 1048576.0;
            }
            return new RunResult(target.Name, scenario.Name, sessions, messages, "ok",
                Accepted: ok.Count,
                Refused: sent.Count - ok.Count,
                Relayed: ok.Count,
                AcceptedPerSecond: ok.Count / acceptSeconds,
                EndToEndPerSecond: ok.Count / seconds,
                MegabytesPerSecond: ok.Count * (double)scenario.Template.Length / (1 << 20) / seconds,
                AcceptP50Ms: Stats.Percentile(acceptLatency, 50),
                AcceptP99Ms: Stats.Percentile(acceptLatency, 99),
                RelayP50Ms: Stats.Percentile(relayLatency, 50),
                RelayP99Ms: Stats.Percentile(relayLatency, 99),
                CpuMsPerMessage: (cpuAfter - cpuBefore) * 1000 / ok.Count,
                EnvelopeP50Ms: Stats.Percentile(ok.Select(m => Ms(m.DataReady - m.Started)).ToList(), 50),
                IdleRssMiB: idleRss / 1048576.0,
                WarmRssMiB: warmRss / 1048576.0,
                PeakRssMiB: peak / 1048576.0,
                SettledRssMiB: settledMiB,
                Note: isDirect ? string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"MX sink: {arrivalSink.TlsHandshakes} TLS handshakes, {arrivalSink.Messages} messages; {(direct!.DnsQueries - dnsBefore)} DNS questions") : null);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Fail($"failed: {e.GetType().Name}: {e.Message.Split('\n')[0]}");
        }
        finally
        {
            await target.StopAsync();
        }
    }

    private static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;

    /// <summary>M sessions take messages from one counter until N are sent; returns every message's times and the start time.</summary>
    private async Task<(List<SentMessage> Sent, long Started)> SendAllAsync(IMailTarget target, Scenario scenario, int sessions, int messages, string tag, CancellationToken cancellationToken)
    {
        var results = new ConcurrentBag<SentMessage>();
        var next = -1;
        var port = target.SmtpPort;
        var opening = target.ClientOpening;
        var started = Stopwatch.GetTimestamp();
        var tasks = Enumerable.Range(0, Math.Max(1, sessions)).Select(session => Task.Run(async () =>
        {
            // Each sender from its own address, as each PC of an office: per-address limits then count
            // per sender, not for all of them together.
            var from = new System.Net.IPAddress([127, 0, 1, (byte)(1 + session % 250)]);
            int n;
            if (ConnectionPerMessage)
            {
                while ((n = Interlocked.Increment(ref next)) < messages)
                {
                    // The connection's set-up counts in the message's time: it is part of what the office waits for.
                    var connecting = Stopwatch.GetTimestamp();
                    await using var one = await SmtpLoadClient.ConnectAsync(port, Pipelining, opening, from, cancellationToken);
                    var sent = await one.SendAsync(Scenario.Sender, scenario.Recipients, tag + n.ToString(System.Globalization.CultureInfo.InvariantCulture), scenario.Template, cancellationToken);
                    results.Add(sent with { Started = connecting });
                }
                return;
            }
            await using var client = await SmtpLoadClient.ConnectAsync(port, Pipelining, opening, from, cancellationToken);
            while ((n = Interlocked.Increment(ref next)) < messages)
                results.Add(await client.SendAsync(Scenario.Sender, scenario.Recipients, tag + n.ToString(System.Globalization.CultureInfo.InvariantCulture), scenario.Template, cancellationToken));
        }, cancellationToken)).ToArray();
        await Task.WhenAll(tasks);
        return (results.ToList(), started);
    }

    /// <summary>Both sinks start counting afresh; only ids with this run's tag count as arrivals.</summary>
    private void BeginRun(SmtpSink arrivalSink, string tag)
    {
        sink.BeginRun(tag);
        if (arrivalSink != sink) arrivalSink.BeginRun(tag);
    }

    /// <summary>Null once the sink has <paramref name="expected"/> messages of this run; else why not (held, fell back, timed out).</summary>
    private async Task<string?> WaitForSinkAsync(IMailTarget target, SmtpSink arrivalSink, int expected, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var nextHoldCheck = TimeSpan.Zero;
        // smtp-source sends one X-Bench-Id many times: then copies count, not ids.
        while ((SmtpSource ? arrivalSink.TaggedCount : arrivalSink.ArrivedCount) < expected)
        {
            if (clock.Elapsed >= nextHoldCheck)
            {
                if (target.HeldCount() > 0) return "skipped: feature not available (message held)";
                // A direct copy that could not be verified becomes a pickup notice (with the message's
                // X-Bench-Id) to the smarthost: then this is no TLS-first run. The guard's receipts to
                // the sender go there too, but carry no X-Bench-Id.
                if (arrivalSink != sink && sink.ArrivedCount > 0)
                    return $"failed: {sink.ArrivedCount} message(s) reached the smarthost instead of the MX (direct delivery fell back or is off)";
                nextHoldCheck = clock.Elapsed + TimeSpan.FromMilliseconds(250);
            }
            if (clock.Elapsed > timeout)
                return $"timed out: the sink has {(SmtpSource ? arrivalSink.TaggedCount : arrivalSink.ArrivedCount)} of {expected} after {timeout.TotalSeconds:F0} s (feature not available, or too slow)";
            await Task.Delay(5, cancellationToken);
        }
        return null;
    }
}
