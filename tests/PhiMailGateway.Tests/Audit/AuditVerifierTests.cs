using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Audit.HeadNotes;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// `audit verify` against each way the log or its head file can be tampered with, on a real SQLite
/// database and head file: the first break is reported once, with the reason, and nothing after it
/// counts as intact or anchored.
/// </summary>
public class AuditVerifierTests
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
        _log = new DisclosureLog(_keys, _head, Store(_bed, _keys, _head), TimeProvider.System, NullLogger<DisclosureLog>.Instance);
        _verifier = new AuditVerifier(Store(_bed, _keys, _head), _keys, _head);
        for (var i = 0; i < 4; i++)
            await _log.AppendAsync(new AuditEvent(AuditEventTypes.Relayed, $"Q{i}", $"Q{i}-1", "dr.lee@specialist.example", "250 ok"), CancellationToken.None);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private static SqlAuditStore Store(QueueTestBed bed, AuditKeys keys, AuditHeadFile head) => new(bed.Database, new AuditChainSealer(keys, head));

    private Task<AuditVerification> VerifyAsync(IReadOnlyList<AuditHeadNote>? notes = null) => _verifier.VerifyAsync(CancellationToken.None, notes);

    /// <summary>What an attacker with the database file does: drop the append-only trigger, change rows, put it back.</summary>
    private async Task TamperAsync(string verb, string sql)
    {
        await using var c = await _bed.Database.OpenAsync(CancellationToken.None);
        await c.ExecuteAsync("PRAGMA foreign_keys = OFF");
        await c.ExecuteAsync($"DROP TRIGGER audit_events_no_{verb.ToLowerInvariant()}; {sql}; {AuditTestKit.AppendOnlyTrigger("audit_events", verb)}");
    }

    private async Task<ChainHead> HeadAtAsync(long seq) =>
        new(seq, await AuditTestKit.ScalarAsync<string>(_bed.DataDirectory, "SELECT mac FROM audit_events WHERE seq = @seq", new { seq }));

    private async Task RewriteHeadFileAsync(Func<List<string>, List<string>> change)
    {
        var lines = (await File.ReadAllLinesAsync(_head.Path)).ToList();
        await File.WriteAllTextAsync(_head.Path, string.Concat(change(lines).Select(l => l + "\n")));
    }

    private static string Describe(AuditVerification v) => string.Join("\n", v.Problems);

    [Test]
    public async Task AuditVerify_UntouchedLog_PassesWithEveryRecordIntactAndAnchored()
    {
        var result = await VerifyAsync();
        Assert.That((result.Ok, result.Events, result.IntactRecords, result.AnchoredSeq, result.Unanchored, result.FirstBadSeq),
            Is.EqualTo((true, 4L, 4L, 4L, 0L, (long?)null)), Describe(result));
        Assert.That(result.Problems, Is.Empty);
    }

    [Test]
    public async Task AuditVerify_RecordContentChanged_FailsOnceAtThatRecordAndNothingAfterCountsAsIntact()
    {
        await TamperAsync("UPDATE", "UPDATE audit_events SET detail = '251 ok' WHERE seq = 2");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords, result.AnchoredSeq, result.Unanchored),
            Is.EqualTo((false, (long?)2, 1L, 1L, 0L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 2: event content does not match its MAC: changed" }),
            "records after the break are not checked against a chain that is already broken");
    }

    [Test]
    public async Task AuditVerify_PrevMacChanged_FailsOnceAsOutOfPlace()
    {
        await TamperAsync("UPDATE", $"UPDATE audit_events SET prev_mac = '{new string('e', 64)}' WHERE seq = 3");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords), Is.EqualTo((false, (long?)3, 2L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 3: event does not follow seq 2 (prev_mac differs): removed, inserted or reordered" }));
    }

    [Test]
    public async Task AuditVerify_RecordInTheMiddleDeleted_FailsOnceAtTheGap()
    {
        await TamperAsync("DELETE", "DELETE FROM audit_events WHERE seq = 2");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords), Is.EqualTo((false, (long?)2, 1L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 2: record missing: after seq 1 the next is 3" }),
            "one gap is one problem, not one for every record after it");
    }

    [Test]
    public async Task AuditVerify_PatientLookupWithoutItsDisclosure_FailsAtThatSeq()
    {
        await using (var c = await _bed.Database.OpenAsync(CancellationToken.None))
        {
            await c.ExecuteAsync("PRAGMA foreign_keys = OFF");
            await c.ExecuteAsync("INSERT INTO disclosure_patients (disclosure_seq, patient_lookup) VALUES (3, 'x')");
        }

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)3)), Describe(result));
        Assert.That(result.Problems, Has.Member("seq 3: patient lookup rows without their disclosure record"));
    }

    [Test]
    public async Task AuditVerify_MalformedLineInTheHeadFile_FailsNamingTheLine()
    {
        await RewriteHeadFileAsync(lines => [lines[0], "2 not-a-mac", .. lines.Skip(1)]);

        var result = await VerifyAsync();
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Problems, Is.EqualTo(new[] { "head file line 2 is malformed" }), "the records themselves are intact");
        Assert.That(result.FirstBadSeq, Is.Null, "no record is bad");
    }

    [Test]
    public async Task AuditVerify_HeadFileGoesBackwards_FailsAndAnchorsOnlyWhatCameBefore()
    {
        var second = await HeadAtAsync(2);
        await RewriteHeadFileAsync(lines => [.. lines.Take(4), $"{second.Seq} {second.Mac}", .. lines.Skip(4)]);

        var result = await VerifyAsync();
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Problems, Is.EqualTo(new[] { "head file goes backwards: seq 2 after 3" }), Describe(result));
        Assert.That(result.AnchoredSeq, Is.EqualTo(3), "the head file is read no further once its order is broken");
    }

    [Test]
    public async Task AuditVerify_HeadFileNotesTheSameSeqTwice_FailsAsGoingBackwards()
    {
        await RewriteHeadFileAsync(lines => [.. lines, lines[^1]]);

        var result = await VerifyAsync();
        Assert.That(result.Problems, Is.EqualTo(new[] { "head file goes backwards: seq 4 after 4" }), Describe(result));
    }

    [Test]
    public async Task AuditVerify_HeadFileGenesisLineWrong_Fails()
    {
        await RewriteHeadFileAsync(lines => ["0 " + new string('c', 64), .. lines.Skip(1)]);

        var result = await VerifyAsync();
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Problems, Is.EqualTo(new[] { "head file genesis line is wrong" }));
        Assert.That(result.AnchoredSeq, Is.EqualTo(4), "the lines after it still anchor the records");
    }

    [Test]
    public async Task AuditVerify_HeadFileEmptied_FailsForTheMissingGenesisLine()
    {
        await File.WriteAllTextAsync(_head.Path, "");

        var result = await VerifyAsync();
        Assert.That(result.Ok, Is.False);
        Assert.That(result.Problems, Is.EqualTo(new[] { "head file has no genesis line" }));
        Assert.That(result.AnchoredSeq, Is.Zero);
    }

    [Test]
    public async Task AuditVerify_EmptyHeadFileAndEmptyLog_Passes()
    {
        using var bed = await QueueTestBed.CreateAsync();
        var head = new AuditHeadFile(bed.Options, NullLogger<AuditHeadFile>.Instance);
        head.CreateIfMissing();
        await File.WriteAllTextAsync(head.Path, "");

        var result = await new AuditVerifier(Store(bed, _keys, head), _keys, head).VerifyAsync(CancellationToken.None);
        Assert.That(result.Ok, Is.True, Describe(result));
    }

    [Test]
    public async Task AuditVerify_HeadNotesMatchingTheLog_AreCounted()
    {
        var now = DateTimeOffset.UtcNow;
        var notes = new[]
        {
            AuditHeadNote.Create(_keys, "node-a", ChainHead.Genesis, now),
            AuditHeadNote.Create(_keys, "node-a", await HeadAtAsync(2), now),
            AuditHeadNote.Create(_keys, "node-a", await HeadAtAsync(4), now),
        };

        var result = await VerifyAsync(notes);
        Assert.That((result.Ok, result.HeadNotesMatched), Is.EqualTo((true, 3L)), Describe(result));
    }

    [Test]
    public async Task AuditVerify_SignedHeadNoteWithAnotherHash_FailsAtThatSeq()
    {
        var note = AuditHeadNote.Create(_keys, "node-a", new ChainHead(3, new string('d', 64)), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var result = await VerifyAsync([note]);
        Assert.That((result.Ok, result.FirstBadSeq, result.HeadNotesMatched), Is.EqualTo((false, (long?)3, 0L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 3: MAC differs from the one in the head note of node-a at 2026-01-02 03:04:05Z" }));
    }

    [Test]
    public async Task AuditVerify_SignedHeadNoteBeyondTheLog_FailsAtTheFirstMissingRecord()
    {
        var note = AuditHeadNote.Create(_keys, "node-a", new ChainHead(9, new string('d', 64)), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var result = await VerifyAsync([note]);
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)5)), Describe(result));
        Assert.That(result.Problems.Single(), Does.Contain("notes seq 9, the log ends at seq 4 (newest records removed)"));
    }

    [Test]
    public async Task AuditVerify_SignedHeadNoteOfSeqZeroWithAnotherHash_Fails()
    {
        var note = AuditHeadNote.Create(_keys, "node-a", new ChainHead(0, new string('d', 64)), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));

        var result = await VerifyAsync([note]);
        Assert.That((result.Ok, result.HeadNotesMatched), Is.EqualTo((false, 0L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "head note of node-a at 2026-01-02 03:04:05Z for seq 0: hash is not the genesis hash" }));
    }

    [Test]
    public async Task AuditVerify_HeadNoteWithABadSignature_RefusedAndNotCounted()
    {
        var good = AuditHeadNote.Create(_keys, "node-a", await HeadAtAsync(2), new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var forged = good with { Mac = new string('0', good.Mac.Length) };

        var result = await VerifyAsync([forged]);
        Assert.That((result.Ok, result.HeadNotesMatched, result.FirstBadSeq), Is.EqualTo((false, 0L, (long?)null)), Describe(result));
        Assert.That(result.Problems.Single(), Does.StartWith("head note of node-a at 2026-01-02 03:04:05Z for seq 2: signature is wrong"));
    }

    /// <summary>A disclosure record sealed after the fixture's four events, as the queue commits one.</summary>
    private Task<ChainHead> AppendDisclosureAsync() =>
        Store(_bed, _keys, _head).AppendAsync([new DisclosureRow
        {
            RecordedAt = 1, QueueId = "Q9", Sender = "office@practice.example", Recipient = "dr.lee@specialist.example", Action = "Pickup", KeyId = _keys.KeyId,
        }], CancellationToken.None);

    [Test]
    public async Task AuditVerify_DisclosureContentChanged_NamesTheDisclosure()
    {
        await AppendDisclosureAsync();
        await using (var c = await _bed.Database.OpenAsync(CancellationToken.None))
            await c.ExecuteAsync("DROP TRIGGER disclosures_no_update; UPDATE disclosures SET recipient = 'other@mail.example' WHERE seq = 5; " + AuditTestKit.AppendOnlyTrigger("disclosures", "UPDATE"));

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.Disclosures, result.Events, result.FirstBadSeq, result.IntactRecords), Is.EqualTo((false, 1L, 4L, (long?)5, 4L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 5: disclosure content does not match its MAC: changed" }));
    }

    [Test]
    public async Task AuditVerify_EventGivenTheSeqOfADisclosure_ReportedAsAppearingTwice()
    {
        await AppendDisclosureAsync();
        await _log.AppendAsync(new AuditEvent(AuditEventTypes.Relayed, "Q9", "Q9-1", "dr.lee@specialist.example", "250 ok"), CancellationToken.None);
        await TamperAsync("UPDATE", "UPDATE audit_events SET seq = 5 WHERE seq = 6");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords), Is.EqualTo((false, (long?)6, 5L)), Describe(result));
        Assert.That(result.Problems[0], Is.EqualTo("seq 6: seq 5 appears twice"), Describe(result));
    }

    [Test]
    public async Task AuditVerify_TwoProblems_FirstBadSeqIsTheLowerOneWhicheverIsFoundFirst()
    {
        // The orphaned lookup (seq 2) is found before the changed record (seq 3).
        await using (var c = await _bed.Database.OpenAsync(CancellationToken.None))
        {
            await c.ExecuteAsync("PRAGMA foreign_keys = OFF");
            await c.ExecuteAsync("INSERT INTO disclosure_patients (disclosure_seq, patient_lookup) VALUES (2, 'x')");
        }
        await TamperAsync("UPDATE", "UPDATE audit_events SET detail = '251 ok' WHERE seq = 3");

        var result = await VerifyAsync();
        Assert.That(result.FirstBadSeq, Is.EqualTo(2), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 2: patient lookup rows without their disclosure record", "seq 3: event content does not match its MAC: changed" }));
    }

    [Test]
    public async Task AuditVerify_AppendOnlyTriggerDropped_FailsNamingIt()
    {
        await using (var c = await _bed.Database.OpenAsync(CancellationToken.None))
            await c.ExecuteAsync("DROP TRIGGER audit_events_no_delete");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords), Is.EqualTo((false, (long?)null, 4L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "trigger audit_events_no_delete is missing: the audit tables no longer refuse UPDATE/DELETE" }));
    }

    [Test]
    public async Task AuditVerify_HeadFileDeletedWhileTheLogHasRecords_Fails()
    {
        File.Delete(_head.Path);

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.AnchoredSeq, result.Unanchored), Is.EqualTo((false, 0L, 0L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { $"head file {_head.Path} is missing although the log has records" }));
    }

    [Test]
    public async Task AuditVerify_NewestTwoRecordsCut_OneProblemAtTheFirstMissing()
    {
        await TamperAsync("DELETE", "DELETE FROM audit_events WHERE seq >= 3");

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq, result.IntactRecords, result.AnchoredSeq), Is.EqualTo((false, (long?)3, 2L, 2L)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 3: record missing: head file notes seq 3, the log ends at seq 2 (newest records removed)" }),
            "the head file's later notes add nothing once the cut is found");
    }

    [Test]
    public async Task AuditVerify_HeadFileNotesAnotherMac_NamesTheHeadFile()
    {
        await RewriteHeadFileAsync(lines => [.. lines.Take(2), "2 " + new string('b', 64), .. lines.Skip(3)]);

        var result = await VerifyAsync();
        Assert.That((result.Ok, result.FirstBadSeq), Is.EqualTo((false, (long?)2)), Describe(result));
        Assert.That(result.Problems, Is.EqualTo(new[] { "seq 2: MAC differs from the one noted in the head file" }));
    }
}
