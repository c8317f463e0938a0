using PhiMailGateway.Bench;
using PhiMailGateway.Bench.Load;
using PhiMailGateway.Bench.Micro;

// Benchmark tooling for issue 8 (README, "Benchmark"): load, compare, micro.
BenchArgs parsed;
try
{
    parsed = BenchArgs.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

try
{
    return parsed.Mode switch
    {
        "load" => await LoadMode.RunAsync(parsed, compare: false),
        "compare" => await LoadMode.RunAsync(parsed, compare: true),
        "micro" => await MicroMode.RunAsync(parsed),
        "guard-replay" => PhiMailGateway.Bench.Guard.GuardReplay.Run(parsed),
        "guard-scale" => await PhiMailGateway.Bench.Guard.GuardScale.RunAsync(parsed),
        _ => Usage(),
    };
}
catch (Exception e) when (e is ArgumentException or InvalidOperationException or FileNotFoundException)
{
    Console.Error.WriteLine("bench: " + e.Message);
    return 2;
}

static int Usage()
{
    Console.WriteLine("""
        PhiMailGateway.Bench MODE [options]

        load     start the gateway (Release build) and an SMTP sink; send N messages over M sessions
                 --scenario NAME[,NAME]   relay-1k relay-100k pickup-100k smime-100k smime-5m panoramic-5m cbct-30m
                                          tlsfirst-100k tlsfirst-dane-100k (direct to a local MX sink over TLS)
                                          (default relay-1k)
                 --sessions M[,M]         default 1,20
                 --messages N             default per scenario and session count
                 --warmup N               messages sent (and relayed) before measuring
                 --settle SECONDS         after the run, wait idle this long and print the RSS then
                 --runs R                 repeat each run R times and print medians (default 1)
                 --target gateway|postfix which server (default gateway)
        compare  the same load through the gateway and a private Postfix, alternately
                 --pairs P                gateway/Postfix pairs per scenario and session count (default 5)
                 plus the load options
        micro    BenchmarkDotNet benchmarks of the stages, and openssl cms for S/MIME reference times
                 --no-openssl             skip the openssl reference
                 -- ARGS                  passed to BenchmarkDotNet (e.g. -- --filter *Inspect*)

        guard-replay  a seeded year of image mail with planted mistakes through the guard's checks
                 --seed S --days D --per-day N --partners P --patients Q   (defaults 2026, 250, 16, 300, 4000)
                 --show N                 print the first N good copies the guard would hold, with why
        guard-scale   GuardStage.CheckAsync over a SQLite audit log seeded through the gateway's audit writer
                 --disclosures N          disclosures to seed (default 1000000)
                 --messages M             timed messages on the unchanged log (default 2000)
                 --live L                 timed messages with each one's copies committed before the next (default M; 0: none)
                 --warmup W --seed S --batch B   (defaults 3000, 2026, 1000 messages per seeding transaction)
                 --keep DIR               seed into DIR and keep it; a later run with the same seed and N reuses it

        common   --no-build               do not `dotnet build -c Release` the gateway first
                 --gateway-log-level L    Logging:LogLevel:Default for the gateway (default: its own, Information)
                 --gateway-arg K=V        extra --K=V configuration for the gateway (repeatable)
                 --timeout SECONDS        per run wait for the sink (default 60 s + 1 s per MiB sent)
                 --csv FILE               append every run as a CSV row
                 --no-pipelining          one command per round trip even when the server offers PIPELINING
                 --connection-per-message a new connection for each message (EHLO, transaction, QUIT), as
                                          smtp-source does by default and Outlook does per send
                 --starttls               STARTTLS on every session (Postfix gets an RSA-2048 certificate too)
                 --auth                   STARTTLS and AUTH PLAIN, the Outlook shape; the gateway then does not
                                          trust loopback; Postfix (no SASL here) gets STARTTLS only
                 --client smtp-source     Postfix's smtp-source as the load client (plain sessions only)
                 --sink-no-chunking       the sink leaves CHUNKING out, so both relays send DATA
                 --ready-to-run           run the gateway from a ReadyToRun publish (as the Dockerfile could build it)
                 --gateway-env NAME=VALUE an environment variable for the gateway process (repeatable)
        """);
    return 2;
}
