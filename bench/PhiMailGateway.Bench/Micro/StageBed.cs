using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Bench.Content;
using PhiMailGateway.Certificates;
using PhiMailGateway.Configuration;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Protection.Smime;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sql;
using PhiMailGateway.Storage.Sqlite;

namespace PhiMailGateway.Bench.Micro;

/// <summary>
/// A data directory with what the stages need (spool folders, migrated database, master key, the
/// S/MIME recipient's certificate), and queued messages with their inspection report, so a stage
/// can be called the way MessageProcessor calls it. Built from PhiMailGateway.Core only.
/// </summary>
public sealed class StageBed : IDisposable
{
    private StageBed(string root)
    {
        Root = root;
        Gateway = new GatewayOptions { DataDirectory = root, HostName = "bench.example" };
        Spool = new SpoolDirectory(Gateway);
        Database = new GatewayDatabase(Gateway);
        Writer = new OutboundMessageWriter(Spool);
    }

    public string Root { get; }
    public GatewayOptions Gateway { get; }
    public SpoolDirectory Spool { get; }
    public GatewayDatabase Database { get; }
    public OutboundMessageWriter Writer { get; }

    public static async Task<StageBed> CreateAsync()
    {
        var bed = new StageBed(Directory.CreateTempSubdirectory("phimail-bench-stage-").FullName);
        bed.Spool.EnsureCreated();
        await bed.Database.MigrateAsync(CancellationToken.None);
        return bed;
    }

    /// <summary>Writes the message into the spool as ingress would, inspects it, and returns what a stage gets.</summary>
    public async Task<(SpoolEntry Entry, MessageHeaders Headers, InspectionReport Report)> QueueAsync(byte[] message, IReadOnlyList<string> recipients)
    {
        var envelope = new Envelope(Scenario.Sender, recipients, null, "127.0.0.1", "bench-client.example", DateTimeOffset.UtcNow, false);
        var queueId = "BENCH" + Guid.NewGuid().ToString("N")[..12].ToUpperInvariant();
        var path = Spool.IncomingPath(queueId);
        await using (var file = OwnerOnly.CreateNew(path))
            await SpoolFile.WriteAsync(file, envelope, ReadOnlyMemory<byte>.Empty, new ReadOnlySequence<byte>(message), CancellationToken.None);
        var entry = SpoolFile.Read(path);
        var headers = await MessageHeaders.ReadAsync(entry, CancellationToken.None);
        await using var stream = entry.OpenMessage();
        var report = await new MessageInspector(new InspectionOptions(), Spool.Scratch).InspectAsync(stream, CancellationToken.None);
        return (entry, headers, report);
    }

    /// <summary>Fresh work per call, as the Protection stage makes it: protectors list their files with it.</summary>
    public static ProtectionWork Work(SpoolEntry entry, MessageHeaders headers, InspectionReport report) => new(entry, headers, report, [], entry.QueueId);

    public static RoutingDecision Decision(string recipient, RoutingAction action) =>
        new(recipient, new RoutingRule("bench-" + action.ToString().ToLowerInvariant(), new RuleConditions(), action, null, "Treatment"), [],
            new CertificateAvailability(action == RoutingAction.Smime, null));

    public async Task<SmimeProtector> SmimeProtectorAsync()
    {
        var store = new SqlCertificateStore(Database, TimeProvider.System);
        await store.ImportAsync(CertificateFile.Parse(BenchCertificates.RecipientCertificate.RawData, "recipient.crt"), null, CancellationToken.None);
        var options = new SmimeOptions();
        return new SmimeProtector(store, new TrustAnchorSet([]), new PracticeSigner(options), options, Spool, Writer, TimeProvider.System,
            NullLogger<SmimeProtector>.Instance);
    }

    public PickupProtector PickupProtector()
    {
        var options = new PickupOptions();
        var store = new PickupPackageStore(new SqlPickupPackages(Database, TimeProvider.System), MasterKey.LoadOrCreate(Gateway), Gateway, options, TimeProvider.System);
        return new PickupProtector(store, Writer, options, NullLogger<PickupProtector>.Instance);
    }

    public DisclosureLog DisclosureLog() =>
        DisclosureLog(new AuditKeys(MasterKey.LoadOrCreate(Gateway)), new AuditHeadFile(Gateway, NullLogger<AuditHeadFile>.Instance));

    private DisclosureLog DisclosureLog(AuditKeys keys, AuditHeadFile headFile) =>
        new(keys, headFile, new SqlAuditStore(Database, new AuditChainSealer(keys, headFile)), TimeProvider.System, NullLogger<DisclosureLog>.Instance);

    /// <summary>Removes what a stage generated (outbound copies, scratch files, package blobs) so iterations do not pile up.</summary>
    public void CleanGenerated(ProtectionWork? work)
    {
        foreach (var file in work?.GeneratedFiles ?? []) File.Delete(file);
        foreach (var dir in new[] { Spool.Outbound, Spool.Scratch })
            foreach (var file in Directory.EnumerateFiles(dir)) File.Delete(file);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(Root, recursive: true);
    }
}
