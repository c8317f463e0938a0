using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>The head-file rule: behind the database by unnoted records is fine, ahead of it is not.</summary>
public class AuditHeadFileTests
{
    private QueueTestBed _bed = null!;
    private AuditKeys _keys = null!;
    private AuditHeadFile _head = null!;
    private DisclosureLog _log = null!;
    private AuditVerifier _verifier = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _keys = new AuditKeys(MasterKey.LoadOrCreate(_bed.Options));
        _head = new AuditHeadFile(_bed.Options, NullLogger<AuditHeadFile>.Instance);
        _log = new DisclosureLog(_keys, _head, new SqlAuditStore(_bed.Database, new AuditChainSealer(_keys, _head)), TimeProvider.System, NullLogger<DisclosureLog>.Instance);
        _verifier = new AuditVerifier(new SqlAuditStore(_bed.Database, new AuditChainSealer(_keys, _head)), _keys, _head);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private Task AppendAsync(string type = AuditEventTypes.Relayed) =>
        _log.AppendAsync(new AuditEvent(type, "Q1", "Q1-1", "dr.lee@specialist.example", "250 ok"), CancellationToken.None);

    /// <summary>Commits one event the way a crash after the commit leaves it: in the database, not in the head file.</summary>
    private Task AppendWithoutNotingAsync() =>
        new SqlAuditStore(_bed.Database, new AuditChainSealer(_keys, _head))
            .AppendAsync([new AuditEventRow { RecordedAt = 1, Type = AuditEventTypes.Deferred, QueueId = "Q1" }], CancellationToken.None);

    [Test]
    public async Task AuditVerify_EmptyLog_PassesWithZero()
    {
        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Problems));
        Assert.That(result.IntactRecords, Is.Zero);
    }

    [Test]
    public async Task HeadFile_FirstRecord_StartsWithGenesisLineAndNotesEachCommit()
    {
        await AppendAsync();
        await AppendAsync();
        var content = AuditHeadFile.Read(_head.Path);
        Assert.That(content.Entries.Select(e => e.Seq), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That(content.Entries[0].Mac, Is.EqualTo(AuditChain.GenesisMac));
        Assert.That(File.GetUnixFileMode(_head.Path), Is.EqualTo(OwnerOnly.FileMode));
    }

    [Test]
    public async Task AuditVerify_CrashAfterTheFirstCommit_PassesWithOneUnanchored()
    {
        await AppendWithoutNotingAsync();
        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That((result.Ok, result.AnchoredSeq, result.Unanchored), Is.EqualTo((true, 0L, 1L)), string.Join("\n", result.Problems));
    }

    [Test]
    public async Task AuditVerify_CrashBetweenCommitAndHeadNote_PassesAndReportsUnanchored()
    {
        await AppendAsync();
        await AppendWithoutNotingAsync();
        await AppendWithoutNotingAsync();

        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Problems));
        Assert.That((result.AnchoredSeq, result.Unanchored, result.IntactRecords), Is.EqualTo((1L, 2L, 3L)));

        // What start-up does: note the current head.
        await _log.CommittedAsync(CancellationToken.None);
        result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That((result.Ok, result.AnchoredSeq, result.Unanchored), Is.EqualTo((true, 3L, 0L)));
    }

    [Test]
    public async Task HeadFile_TornLastLine_IsIgnoredByVerifyAndCutByTheNextNote()
    {
        await AppendAsync();
        await File.AppendAllTextAsync(_head.Path, "2 abc");
        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That(result.Ok, Is.True, string.Join("\n", result.Problems));

        var fresh = new AuditHeadFile(_bed.Options, NullLogger<AuditHeadFile>.Instance);
        var log = new DisclosureLog(_keys, fresh, new SqlAuditStore(_bed.Database, new AuditChainSealer(_keys, fresh)), TimeProvider.System, NullLogger<DisclosureLog>.Instance);
        await log.AppendAsync(new AuditEvent(AuditEventTypes.Relayed, "Q1", "Q1-1", "a@b.example", "250"), CancellationToken.None);
        Assert.That(AuditHeadFile.Read(fresh.Path).Entries.Select(e => e.Seq), Is.EqualTo(new long[] { 0, 1, 2 }));
        Assert.That((await _verifier.VerifyAsync(CancellationToken.None)).Ok, Is.True);
    }

    [Test]
    public async Task AuditVerify_HeadFileNotesARecordTheDatabaseLacks_FailsAtTheFirstMissing()
    {
        await AppendAsync();
        await File.AppendAllTextAsync(_head.Path, $"5 {new string('a', 64)}\n");
        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)2)));
    }

    [Test]
    public async Task AuditVerify_HeadFileMacDiffers_FailsAtThatSeq()
    {
        await AppendAsync();
        await AppendAsync();
        var lines = await File.ReadAllLinesAsync(_head.Path);
        lines[2] = "2 " + new string('b', 64);
        await File.WriteAllTextAsync(_head.Path, string.Join("\n", lines) + "\n");
        var result = await _verifier.VerifyAsync(CancellationToken.None);
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)2)));
    }

    [Test]
    public async Task AuditVerify_OtherMasterKey_FailsAtTheFirstRecord()
    {
        await AppendAsync();
        var otherKey = MasterKey.LoadOrCreate(Path.Combine(_bed.DataDirectory, "other.key"));
        var result = await new AuditVerifier(new SqlAuditStore(_bed.Database, new AuditChainSealer(new AuditKeys(otherKey), _head)), new AuditKeys(otherKey), _head).VerifyAsync(CancellationToken.None);
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)1)));
    }
}
