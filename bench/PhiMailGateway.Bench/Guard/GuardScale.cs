using System.Diagnostics;
using System.Globalization;
using Dapper;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Guard;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sql;
using PhiMailGateway.Storage.Sqlite;

namespace PhiMailGateway.Bench.Guard;

/// <summary>
/// The guard's cost per message with a large audit log (issue 17 sets the budget; bench/README.md
/// has the figures). Seeds a gateway database (the gateway's migrations) through the pipeline's own
/// audit writer: <see cref="DisclosureLog.RecordsFor"/> builds each message's disclosure records
/// and guard notes, <see cref="DisclosureLog.RowsForAsync"/> its Relayed events, and
/// <see cref="SqlAuditStore.AppendAsync"/> seals and inserts them with the chain SQL the queue's
/// commit runs, many messages per transaction. Then times the real <see cref="GuardStage"/> (its
/// SQLite store, knowledge cache and checks) for messages to known partners, new addresses,
/// look-alikes and patients' other partners: first on a log that does not change, then with each
/// message's delivered copies committed before the next check, as in `serve`.
/// </summary>
public static class GuardScale
{
    private const string SeedFile = "guard-scale.seed";

    public static async Task<int> RunAsync(BenchArgs args)
    {
        var disclosures = args.Number("disclosures") ?? 1_000_000;
        var messages = args.Number("messages") ?? 2000;
        var live = args.Number("live") ?? messages;
        var warmup = args.Number("warmup") ?? 3000;
        var seed = args.Number("seed") ?? 2026;
        var batch = args.Number("batch") ?? 1000;
        var keep = args.Value("keep");
        if (disclosures < 1 || messages < 1 || live < 0 || warmup < 0 || batch < 1) throw new ArgumentException("guard-scale: --disclosures, --messages and --batch must be positive; --live and --warmup at least 0.");

        var root = keep is null ? Directory.CreateTempSubdirectory("phimail-bench-guard-").FullName : Path.GetFullPath(keep);
        Directory.CreateDirectory(root);
        try
        {
            var bed = new Bed(root);
            var world = ScaleWorld.Create(seed, disclosures);
            var history = new Random(seed + 1);
            var marker = Path.Combine(root, SeedFile);
            var expected = $"seed {seed} disclosures {disclosures}";
            PrintLoad();
            Console.WriteLine($"guard-scale: seed {seed}, {disclosures:N0} disclosures, {world.Partners.Count:N0} partner mailboxes at {world.PartnerDomains.Count:N0} domains, " +
                $"{world.Patients.Count:N0} patients ({world.Patients.Count(p => p.Own is not null):N0} with their own address); data in {root}");
            if (File.Exists(bed.Database.FilePath))
            {
                var found = File.Exists(marker) ? File.ReadAllText(marker).Trim() : "no seed note";
                if (found != expected) throw new ArgumentException($"guard-scale: {root} holds a database seeded as '{found}', not '{expected}'; use another --keep folder.");
                // The same stream again, in memory only: the kept log already holds it.
                for (var n = 0; n < disclosures;)
                {
                    var message = world.NextSeedMessage(history);
                    world.Learn(message);
                    n += message.Recipients.Count;
                }
                Console.WriteLine("seeding: reused the kept database (its history replayed in memory)");
            }
            else
            {
                await bed.Database.MigrateAsync(CancellationToken.None);
                var watch = Stopwatch.StartNew();
                var (rows, written) = await SeedAsync(bed, world, history, disclosures, batch);
                watch.Stop();
                await File.WriteAllTextAsync(marker, expected + "\n");
                Console.WriteLine($"seeding: {written:N0} disclosures, {rows:N0} audit rows in {watch.Elapsed.TotalSeconds:F0} s " +
                    $"({rows / watch.Elapsed.TotalSeconds:N0} rows/s; DisclosureLog.RecordsFor + RowsForAsync, SqlAuditStore.AppendAsync, {batch:N0} messages per transaction)");
            }
            await PrintDatabaseAsync(bed, world);

            var random = new Random(seed * 7919);
            await new Timing(bed, world, random).UnchangedAsync(messages, warmup);
            if (live == 0) return 0;
            // The live pass commits to the log: a kept database is timed live on a copy, so it stays as seeded.
            var liveBed = keep is null ? bed : new Bed(CopyData(root));
            await new Timing(liveBed, world, random).LiveAsync(live, warmup);
            await PrintDatabaseAsync(liveBed, world);
            return 0;
        }
        finally
        {
            PrintLoad();
            SqliteConnection.ClearAllPools();
            if (keep is null) Directory.Delete(root, recursive: true);
            else if (Directory.Exists(Path.Combine(root, LiveCopy))) Directory.Delete(Path.Combine(root, LiveCopy), recursive: true);
        }
    }

    private const string LiveCopy = "live-copy";

    /// <summary>On a shared machine the tail of the timings is the scheduler's: say how busy it was.</summary>
    private static void PrintLoad()
    {
        if (File.Exists("/proc/loadavg")) Console.WriteLine($"load average (1, 5, 15 min): {string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))} on {Environment.ProcessorCount} cores");
    }

    /// <summary>The data directory (database, master key, audit head file) copied to <c>live-copy/</c> inside it.</summary>
    private static string CopyData(string root)
    {
        // Closing every connection checkpoints the WAL into gateway.db, so the file alone is the database.
        SqliteConnection.ClearAllPools();
        var target = Path.Combine(root, LiveCopy);
        if (Directory.Exists(target)) Directory.Delete(target, recursive: true);
        var watch = Stopwatch.StartNew();
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file);
            if (relative.StartsWith(LiveCopy + Path.DirectorySeparatorChar, StringComparison.Ordinal) || relative.EndsWith("-shm", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(target, relative))!);
            File.Copy(file, Path.Combine(target, relative));
        }
        Console.WriteLine($"live pass on a copy of the kept data ({watch.Elapsed.TotalSeconds:F1} s to copy): {target}");
        return target;
    }

    /// <summary>What the pipeline has for the audit log: the data directory's database, keys, head file and writer.</summary>
    private sealed class Bed
    {
        public Bed(string root)
        {
            Gateway = new GatewayOptions { DataDirectory = root, HostName = "bench.example", Domains = [ScaleWorld.PracticeDomain] };
            Database = new GatewayDatabase(Gateway);
            Keys = new AuditKeys(MasterKey.LoadOrCreate(Gateway));
            var headFile = new AuditHeadFile(Gateway, NullLogger<AuditHeadFile>.Instance);
            Audit = new SqlAuditStore(Database, new AuditChainSealer(Keys, headFile));
            Log = new DisclosureLog(Keys, headFile, Audit, Clock, NullLogger<DisclosureLog>.Instance);
        }

        public GatewayOptions Gateway { get; }
        public GatewayDatabase Database { get; }
        public AuditKeys Keys { get; }
        public SqlAuditStore Audit { get; }
        public DisclosureLog Log { get; }
        public BenchClock Clock { get; } = new();
    }

    /// <summary>The writer stamps rows with its clock: the seeded history spans six years of a group's image mail.</summary>
    private sealed class BenchClock : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = DateTimeOffset.UtcNow;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static async Task<(long Rows, long Disclosures)> SeedAsync(Bed bed, ScaleWorld world, Random history, int disclosures, int batch)
    {
        var start = DateTimeOffset.UtcNow.AddYears(-6);
        var step = TimeSpan.FromDays(6 * 365.0) / disclosures;
        var pending = new List<AuditRow>();
        long rows = 0, written = 0, inBatch = 0, nextNote = 100_000;
        var watch = Stopwatch.StartNew();
        while (written < disclosures)
        {
            // The guard notes the pipeline wrote at the time: first images to an address, or to a patient's new partner.
            var firstForAddress = new HashSet<string>(StringComparer.Ordinal);
            var firstForPatient = new HashSet<string>(StringComparer.Ordinal);
            var message = world.NextSeedMessage(history);
            var before = world.PatientHistory.GetValueOrDefault(message.Patient);
            foreach (var r in message.Recipients)
            {
                if (!world.Delivered.Contains(r.Address)) firstForAddress.Add(r.Address);
                if (before is { Count: > 0 } && !before.Contains(r.Address)) firstForPatient.Add(r.Address);
            }
            world.Learn(message);
            bed.Clock.Now = start + step * written;
            var processed = Processed(bed, world, message.Patient, message.Recipients, r => Notes(r, firstForAddress, firstForPatient));
            pending.AddRange(bed.Log.RecordsFor(processed));
            pending.AddRange(await bed.Log.RowsForAsync(Relayed(processed), CancellationToken.None));
            written += message.Recipients.Count;
            if (++inBatch == batch || written >= disclosures)
            {
                await bed.Audit.AppendAsync(pending, CancellationToken.None);
                rows += pending.Count;
                pending.Clear();
                inBatch = 0;
            }
            if (written >= nextNote)
            {
                Console.WriteLine($"  {written:N0} disclosures, {watch.Elapsed.TotalSeconds:F0} s");
                nextNote += 100_000;
            }
        }
        await bed.Log.CommittedAsync(CancellationToken.None);
        return (rows, written);
    }

    private static IReadOnlyList<GuardReason> Notes(string address, HashSet<string> firstForAddress, HashSet<string> firstForPatient)
    {
        var reasons = new List<GuardReason>();
        if (firstForAddress.Contains(address)) reasons.Add(new GuardReason(GuardCheck.NewRecipient, GuardAction.Flag, "has not received images from the practice before"));
        if (firstForPatient.Contains(address)) reasons.Add(new GuardReason(GuardCheck.NewPatientRecipient, GuardAction.Flag, "has not received this patient's images before"));
        return reasons;
    }

    /// <summary>Each copy relayed with the smarthost's 250, as the deliverer records it.</summary>
    private static List<AuditEvent> Relayed(ProcessedMessage message) =>
        message.Copies.SelectMany(c => c.Recipients.Select(r => new AuditEvent(AuditEventTypes.Relayed, message.QueueId, c.DeliveryId, r, "250 2.0.0 Ok: queued"))).ToList();

    /// <summary>
    /// A message as the pipeline hands it to the audit writer: one DICOM of the patient, a Pickup
    /// copy per recipient the guard did not hold, the guard's verdicts.
    /// </summary>
    private static ProcessedMessage Processed(Bed bed, ScaleWorld world, int patient, IReadOnlyList<ScaleWorld.Contact> recipients,
        Func<string, IReadOnlyList<GuardReason>> reasons, GuardPlan? guard = null)
    {
        var (headers, report, plan) = Inputs(world, patient, recipients);
        guard ??= new GuardPlan(recipients.Select(r => new GuardVerdict(r.Address, reasons(r.Address))).ToList());
        var queueId = QueueId.New(bed.Clock.Now);
        var envelope = new Envelope(ScaleWorld.Sender, recipients.Select(r => r.Address).ToList(), "frontdesk", "127.0.0.1", "frontdesk.smiledental.example", bed.Clock.Now, true);
        var held = guard.HeldRecipients.ToHashSet(StringComparer.OrdinalIgnoreCase);
        var copies = recipients.Where(r => !held.Contains(r.Address)).Select((r, i) => new OutboundCopy($"{queueId}-{i + 1}", [r.Address],
            new OutboundContent(Path.Combine(bed.Gateway.FullDataDirectory, "spool", "outbound", queueId), 0), nameof(RoutingAction.Pickup), "images-pickup", false,
            "pk_" + queueId[^16..].ToLowerInvariant())).ToList();
        return new ProcessedMessage(new SpoolEntry(queueId, Path.Combine(bed.Gateway.FullDataDirectory, "spool", "incoming", queueId), 0, 0, envelope),
            headers, report, plan, guard, new ProtectedCopies(copies, []));
    }

    /// <summary>What the guard stage gets for a message: its headers (recipients' display names), inspection report and routing plan.</summary>
    private static (MessageHeaders Headers, InspectionReport Report, RoutingPlan Plan) Inputs(ScaleWorld world, int patient, IReadOnlyList<ScaleWorld.Contact> recipients)
    {
        var p = world.Patients[patient];
        var headers = new MessageHeaders
        {
            MessageId = Guid.NewGuid().ToString("N") + "@" + ScaleWorld.PracticeDomain,
            To = recipients.Select(r => r.Address).ToList(),
            RecipientNames = recipients.Where(r => r.Name is not null).ToDictionary(r => r.Address, r => r.Name!, StringComparer.OrdinalIgnoreCase),
        };
        var report = new InspectionReport
        {
            Findings =
            [
                new InspectionFinding
                {
                    Kind = ImageKind.Dicom, Format = "DICOM", Size = 524_288, Path = "part 2", TopLevelPartIndex = 1, PartSpecifier = "2",
                    Sha256 = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
                    Dicom = new DicomHeader
                    {
                        HasPreamble = true, Complete = true,
                        Tags = new DicomTags { PatientId = p.PatientId, PatientName = p.Name, PatientBirthDate = p.BirthDate, Modality = "IO" },
                    },
                    IsProtected = true,
                },
            ],
        };
        var rule = new RoutingRule("images-pickup", new RuleConditions { HasDentalImage = true }, RoutingAction.Pickup, null, DisclosureLog.DefaultPurpose);
        var plan = new RoutingPlan(recipients.Select(r => new RoutingDecision(r.Address, rule, [], CertificateAvailability.None)), []);
        return (headers, report, plan);
    }

    /// <summary>The timed part: the real stage over the seeded database.</summary>
    private sealed class Timing(Bed bed, ScaleWorld world, Random random)
    {
        private readonly SqlGuardStore _store = new(bed.Database);
        private GuardChecks? _checks;
        private GuardKnowledgeCache? _cache;
        private GuardStage? _stage;

        private sealed record Timed(ScaleWorld.Kind Kind, int Patient, ScaleWorld.Contact Recipient, MessageHeaders Headers, InspectionReport Report, RoutingPlan Plan);

        private Timed Next(ScaleWorld.Kind kind)
        {
            var (patient, recipient) = world.NextTimed(random, kind);
            var (headers, report, plan) = Inputs(world, patient, [recipient]);
            return new Timed(kind, patient, recipient, headers, report, plan);
        }

        /// <summary>Equal shares of the four kinds, in random order.</summary>
        private List<Timed> Messages(int count) =>
            Enumerable.Range(0, count).Select(i => (ScaleWorld.Kind)(i % 4)).OrderBy(_ => random.Next()).Select(Next).ToList();

        /// <summary>A new stage (empty knowledge cache) over the bed's database: its first check, then the warm-up.</summary>
        private async Task StartAsync(int warmup)
        {
            var options = new GuardOptions();
            _checks = new GuardChecks(options, bed.Gateway.Domains);
            _cache = new GuardKnowledgeCache(_store, options, bed.Gateway);
            _stage = new GuardStage(_checks, _cache, _store, bed.Keys);

            var first = Next(ScaleWorld.Kind.KnownPartner);
            var watch = Stopwatch.StartNew();
            await _stage.CheckAsync(first.Headers, first.Report, first.Plan, CancellationToken.None);
            Console.WriteLine();
            Console.WriteLine($"first check (the knowledge cache reads every delivered address in the log): {watch.Elapsed.TotalMilliseconds:F0} ms");
            foreach (var m in Messages(warmup)) await _stage.CheckAsync(m.Headers, m.Report, m.Plan, CancellationToken.None);
            GC.Collect();
        }

        public async Task UnchangedAsync(int messages, int warmup)
        {
            await StartAsync(warmup);
            var timed = Messages(messages);
            var times = new List<(Timed Message, double Ms, GuardOutcome Outcome)>();
            foreach (var m in timed)
            {
                var start = Stopwatch.GetTimestamp();
                var plan = await _stage!.CheckAsync(m.Headers, m.Report, m.Plan, CancellationToken.None);
                times.Add((m, Stopwatch.GetElapsedTime(start).TotalMilliseconds, plan.Verdicts[0].Outcome));
            }
            Console.WriteLine($"GuardStage.CheckAsync, log unchanged between checks: {messages:N0} messages after {warmup:N0} warm-up");
            Print(times);
            await BreakdownAsync(timed);
        }

        public async Task LiveAsync(int live, int warmup)
        {
            await StartAsync(warmup);
            var times = new List<(Timed Message, double Ms, GuardOutcome Outcome)>();
            var commit = TimeSpan.Zero;
            foreach (var m in Messages(live))
            {
                var start = Stopwatch.GetTimestamp();
                var plan = await _stage!.CheckAsync(m.Headers, m.Report, m.Plan, CancellationToken.None);
                times.Add((m, Stopwatch.GetElapsedTime(start).TotalMilliseconds, plan.Verdicts[0].Outcome));
                start = Stopwatch.GetTimestamp();
                await CommitAsync(m, plan);
                commit += Stopwatch.GetElapsedTime(start);
            }
            Console.WriteLine($"GuardStage.CheckAsync, live log: each message's records and Relayed events committed (untimed, {commit.TotalMilliseconds / live:F1} ms per message) " +
                $"before the next check; {live:N0} messages after {warmup:N0} warm-up");
            Print(times);

            // The same again with the stage's parts timed one by one, so the live log's extra cost has a place.
            var query = new List<double>();
            var cache = new List<double>();
            var checks = new List<double>();
            foreach (var m in Messages(live))
            {
                var lookups = new[] { bed.Keys.PatientLookup(world.Patients[m.Patient].PatientId) };
                var start = Stopwatch.GetTimestamp();
                var patientRecipients = await _store.PatientRecipientsAsync(lookups, CancellationToken.None);
                query.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                var known = await _cache!.CurrentAsync(CancellationToken.None);
                cache.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                var verdicts = _checks!.Check(new GuardSubject([m.Recipient.Address], m.Headers.RecipientNames, patientRecipients), known);
                checks.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                await CommitAsync(m, new GuardPlan(verdicts));
            }
            Console.WriteLine($"of which, each part timed alone on the live log, {live:N0} more messages (mean / p50 / p99 ms): patient query {Stats(query)}; " +
                $"knowledge cache (reads the new events, grows the knowledge) {Stats(cache)}; checks {Stats(checks)}");
        }

        /// <summary>What the pipeline writes after the guard: the disclosure (held copies only their GuardHeld event), then the relay's events.</summary>
        private async Task CommitAsync(Timed m, GuardPlan guard)
        {
            bed.Clock.Now = DateTimeOffset.UtcNow;
            var processed = Processed(bed, world, m.Patient, [m.Recipient], _ => [], guard);
            await bed.Audit.AppendAsync(bed.Log.RecordsFor(processed), CancellationToken.None);
            var relayed = Relayed(processed);
            if (relayed.Count > 0) await bed.Audit.AppendAsync(await bed.Log.RowsForAsync(relayed, CancellationToken.None), CancellationToken.None);
            if (relayed.Count > 0) world.Learn(new ScaleWorld.SeedMessage(m.Patient, [m.Recipient]));
        }

        /// <summary>The stage's three parts, each timed alone over the same messages: the patient query, the knowledge cache, the checks.</summary>
        private async Task BreakdownAsync(IReadOnlyList<Timed> messages)
        {
            var query = new List<double>();
            var cache = new List<double>();
            var checks = new List<double>();
            foreach (var m in messages)
            {
                var lookups = new[] { bed.Keys.PatientLookup(world.Patients[m.Patient].PatientId) };
                var start = Stopwatch.GetTimestamp();
                var patientRecipients = await _store.PatientRecipientsAsync(lookups, CancellationToken.None);
                query.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                var known = await _cache!.CurrentAsync(CancellationToken.None);
                cache.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                start = Stopwatch.GetTimestamp();
                _checks!.Check(new GuardSubject([m.Recipient.Address], m.Headers.RecipientNames, patientRecipients), known);
                checks.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            // What the cache did when it learned a new address, before it grew the knowledge instead: build it whole.
            var names = world.Partners.Where(c => c.Name is not null && world.Delivered.Contains(c.Address)).Select(c => (c.Address, c.Name!)).ToList();
            var rebuild = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var start = Stopwatch.GetTimestamp();
                _ = new GuardKnowledge(world.Delivered, bed.Gateway.Domains, names);
                rebuild.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            // What it does since: the knowledge grows by the new address (at a new domain, the look-alike tables learn the domain too).
            var current = await _cache!.CurrentAsync(CancellationToken.None);
            var grow = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var start = Stopwatch.GetTimestamp();
                _ = current.Adding([$"dr.new{i}@new{i}-ortho.example"], [($"dr.new{i}@new{i}-ortho.example", $"Dr. New {i}")]);
                grow.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            var growKnown = new List<double>();
            for (var i = 0; i < 20; i++)
            {
                var start = Stopwatch.GetTimestamp();
                _ = current.Adding([$"new.patient{i}@gmail.com"], []);
                growKnown.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            Console.WriteLine($"of which, each part timed alone (mean / p50 / p99 ms): patient query (SqlGuardStore.PatientRecipientsAsync) {Stats(query)}; " +
                $"knowledge cache, nothing new (GuardKnowledgeCache.CurrentAsync) {Stats(cache)}; checks (GuardChecks.Check) {Stats(checks)}; " +
                $"knowledge built whole ({world.Delivered.Count:N0} addresses, {names.Count:N0} names; 20 builds) {Stats(rebuild)}; " +
                $"grown by one address (GuardKnowledge.Adding, 20 times) at a new domain {Stats(grow)}, at a known one {Stats(growKnown)}");
        }

        private static void Print(List<(Timed Message, double Ms, GuardOutcome Outcome)> times)
        {
            Console.WriteLine("| messages to | count | mean ms | p50 ms | p99 ms | max ms | outcomes |");
            Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | --- |");
            foreach (var group in times.GroupBy(t => t.Message.Kind).OrderBy(g => g.Key))
                Console.WriteLine(Row(group.Key.ToString(), group.ToList()));
            Console.WriteLine(Row("all", times));
        }

        private static string Row(string label, IReadOnlyList<(Timed Message, double Ms, GuardOutcome Outcome)> rows)
        {
            var ms = rows.Select(r => r.Ms).Order().ToList();
            var outcomes = string.Join(", ", rows.GroupBy(r => r.Outcome).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}"));
            return string.Create(CultureInfo.InvariantCulture, $"| {label} | {ms.Count:N0} | {ms.Average():F3} | {Percentile(ms, 0.50):F3} | {Percentile(ms, 0.99):F3} | {ms[^1]:F3} | {outcomes} |");
        }
    }

    private static string Stats(List<double> values)
    {
        var sorted = values.Order().ToList();
        return string.Create(CultureInfo.InvariantCulture, $"{sorted.Average():F3} / {Percentile(sorted, 0.5):F3} / {Percentile(sorted, 0.99):F3}");
    }

    private static double Percentile(IReadOnlyList<double> sorted, double q) => sorted[Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private static async Task<long> CountAsync(Bed bed, string table)
    {
        await using var connection = new SqliteConnection($"Data Source={bed.Database.FilePath};Mode=ReadOnly");
        await connection.OpenAsync();
        return await connection.ExecuteScalarAsync<long>($"SELECT COUNT(*) FROM {table}");
    }

    private static async Task PrintDatabaseAsync(Bed bed, ScaleWorld world)
    {
        static double MiB(string path) => File.Exists(path) ? new FileInfo(path).Length / 1048576.0 : 0;
        var counts = new List<string>();
        foreach (var table in new[] { "disclosures", "disclosure_patients", "audit_events" }) counts.Add($"{table} {await CountAsync(bed, table):N0}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"database: gateway.db {MiB(bed.Database.FilePath):F1} MiB (+ WAL {MiB(bed.Database.FilePath + "-wal"):F1} MiB); {string.Join(", ", counts)}; " +
            $"{world.Delivered.Count:N0} addresses delivered to"));
    }
}
