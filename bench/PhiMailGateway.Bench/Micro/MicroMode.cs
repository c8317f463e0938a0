using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using MimeKit.Cryptography;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Bench.Load;
using PhiMailGateway.Bench.Targets;

namespace PhiMailGateway.Bench.Micro;

/// <summary>
/// `micro`: BenchmarkDotNet on the stages (in process: the bench must not spawn a generated project
/// that our Directory.Build.props would then have to build), then the S/MIME reference: `openssl
/// cms -encrypt -stream -aes256` on the same entity bytes, timed around the process, median of runs,
/// next to MimeKit's in-memory path timed the same way.
/// </summary>
public static class MicroMode
{
    public static async Task<int> RunAsync(BenchArgs args)
    {
        Console.WriteLine($"Machine: {Environment.ProcessorCount} cores, .NET {Environment.Version}; load average {Stats.LoadAverage()}");
        var job = Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithWarmupCount(1)
            .WithIterationCount(args.Number("iterations") ?? 5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1);
        var config = ManualConfig.Create(DefaultConfig.Instance)
            .AddJob(job)
            .WithArtifactsPath(Path.Combine(Path.GetTempPath(), "phimail-bench-artifacts"))
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkSwitcher.FromTypes([typeof(InspectionBenchmarks), typeof(SmimeStageBenchmarks), typeof(PickupStageBenchmarks), typeof(AuditBenchmarks), typeof(MimeKitSmimeBaseline)])
            .Run(args.Passthrough.Length > 0 ? args.Passthrough : ["--filter", "*"], config);

        if (!args.Flag("no-openssl")) await OpensslReferenceAsync(args.Number("openssl-runs") ?? 5);
        return 0;
    }

    /// <summary>openssl cms vs the gateway's S/MIME stage and MimeKit's in-memory path on the same entity, 5 and 30 MB: medians of wall time.</summary>
    private static async Task OpensslReferenceAsync(int runs)
    {
        var dir = Directory.CreateTempSubdirectory("phimail-bench-cms-").FullName;
        try
        {
            var certPath = Path.Combine(dir, "recipient.pem");
            await File.WriteAllTextAsync(certPath, BenchCertificates.RecipientCertificatePem());
            var (_, version) = await Shell.RunAsync("openssl", ["version"]);
            Console.WriteLine();
            Console.WriteLine($"S/MIME reference, {runs} runs each, median wall time ({version.Trim()}; load average {Stats.LoadAverage()}):");
            Console.WriteLine($"{"size",6} {"entity MiB",10} {"openssl ms",11} {"stage ms",9} {"stage/openssl",14} {"MimeKit ms",11} {"MimeKit/openssl",16}");
            using var context = new TemporarySecureMimeContext();
            using var bed = await StageBed.CreateAsync();
            var protector = await bed.SmimeProtectorAsync();
            foreach (var size in new[] { 5, 30 })
            {
                var entity = MicroContent.BodyEntity(size);
                var (entry, headers, report) = await bed.QueueAsync(MicroContent.Unstuffed(MicroContent.ScenarioFor(size)), [Scenario.SmimeRecipient]);
                var decision = StageBed.Decision(Scenario.SmimeRecipient, Routing.RoutingAction.Smime);
                // Timed: producing the copy. Not timed: deleting it again (the gateway deletes a copy
                // after relaying it, not in the stage; 1.6 ms for the 5 MB message's copy, 10 ms for
                // the 30 MB one), just as openssl's output is removed before its timing starts.
                async Task<double> StageOnce()
                {
                    var work = StageBed.Work(entry, headers, report);
                    var clock = Stopwatch.StartNew();
                    await protector.ProtectAsync(work, [decision], CancellationToken.None);
                    var elapsed = clock.Elapsed.TotalMilliseconds;
                    bed.CleanGenerated(work);
                    return elapsed;
                }
                var bytes = MicroContent.EntityBytes(entity);
                var input = Path.Combine(dir, $"entity-{size}.mime");
                await File.WriteAllBytesAsync(input, bytes);
                var recipients = MicroContent.Recipients();

                var openssl = new List<double>();
                var mimekit = new List<double>();
                var stage = new List<double>();
                // Warm-up: tiered JIT needs a few runs before the stage runs its optimised code, as a
                // gateway that has been up for a while does. Ten runs were not enough: a method is
                // recompiled after 30 calls, in the background, after a pause in new compilations; the
                // 5 MB stage timed 17 to 22 ms (1.2 to 1.4x openssl) after ten warm-up runs and 12 ms
                // after 600. So: at least 60 runs and two seconds, whichever is longer.
                for (var w = 0; w < 5; w++) ApplicationPkcs7Mime.Encrypt(context, recipients, entity).Dispose();
                var warming = Stopwatch.StartNew();
                for (var w = 0; w < 60 || warming.Elapsed < TimeSpan.FromSeconds(2); w++) await StageOnce();
                // Each timing starts from a collected heap: MimeKit's in-memory path leaves some 30 MB
                // of garbage per 5 MB message, whose collection otherwise lands in the stage's timing.
                static void Settle()
                {
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                }
                for (var i = 0; i < runs; i++)
                {
                    var opensslOutput = Path.Combine(dir, "out.p7m");
                    File.Delete(opensslOutput);
                    Settle();
                    var clock = Stopwatch.StartNew();
                    var (code, output) = await Shell.RunAsync("openssl", ["cms", "-encrypt", "-stream", "-aes256", "-binary", "-outform", "DER", "-in", input, "-out", opensslOutput, certPath]);
                    openssl.Add(clock.Elapsed.TotalMilliseconds);
                    if (code != 0) throw new InvalidOperationException("openssl cms -encrypt failed: " + output);

                    Settle();
                    clock.Restart();
                    using (var encrypted = ApplicationPkcs7Mime.Encrypt(context, recipients, entity))
                    {
                        encrypted.WriteTo(Stream.Null);
                    }
                    mimekit.Add(clock.Elapsed.TotalMilliseconds);

                    Settle();
                    stage.Add(await StageOnce());
                }
                var o = Stats.Median(openssl);
                var m = Stats.Median(mimekit);
                var g = Stats.Median(stage);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{size + " MB",6} {bytes.Length / 1048576.0,10:F1} {o,11:F0} {g,9:F0} {g / o,14:F2} {m,11:F0} {m / o,16:F2}"));
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
