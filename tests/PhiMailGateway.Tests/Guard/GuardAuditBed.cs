using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>The real audit chain and guard holds over a <see cref="QueueTestBed"/>'s database, as the guard's deciding classes get them.</summary>
internal sealed class GuardAuditBed
{
    public GuardAuditBed(QueueTestBed bed, TimeProvider time)
    {
        Keys = new AuditKeys(MasterKey.LoadOrCreate(bed.Options));
        Head = new AuditHeadFile(bed.Options, NullLogger<AuditHeadFile>.Instance);
        var sealer = new AuditChainSealer(Keys, Head);
        Audit = new SqlAuditStore(bed.Database, sealer);
        Holds = new SqlGuardHolds(bed.Database, sealer, time);
        Log = new DisclosureLog(Keys, Head, Audit, time, NullLogger<DisclosureLog>.Instance);
    }

    public AuditKeys Keys { get; }
    public AuditHeadFile Head { get; }
    public SqlAuditStore Audit { get; }
    public SqlGuardHolds Holds { get; }
    public DisclosureLog Log { get; }

    /// <summary>The head file notes the chain's newest event: a log cut off after the decision would show.</summary>
    public async Task AssertHeadNotedAsync()
    {
        var head = await Audit.ReadHeadAsync(CancellationToken.None);
        Assert.That(AuditHeadFile.Read(Head.Path).Entries.Select(e => e.Seq), Does.Contain(head.Seq), "the head noted after the commit");
    }
}
