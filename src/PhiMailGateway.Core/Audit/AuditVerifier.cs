namespace PhiMailGateway.Audit;

/// <summary>
/// `audit verify`: recomputes the chain and compares it with the head file.
/// <list type="number">
/// <item>Every guard of the store that refuses UPDATE/DELETE (SQLite: its triggers) must still exist.</item>
/// <item>Rows of both tables, merged by seq, must run 1, 2, 3… without gap or duplicate; each
/// prev_mac must be the previous mac, and each mac must match the recomputed one. The first row
/// where that fails is the first bad record.</item>
/// <item>Every head noted in head.log must be in the database with the same MAC; a head beyond
/// the database's last seq means records were cut off (the first bad record is the first missing
/// seq). Records after the last noted head are chain-verified and reported as not yet anchored
/// (a crash between commit and note); that alone does not fail.</item>
/// <item>Each head note given (shipped off the machine, see <see cref="HeadNotes.AuditHeadNote"/>)
/// must carry a valid signature and name a record the database still has with the same MAC: an
/// attacker who cut the newest records and trimmed head.log to match is caught here.</item>
/// </list>
/// </summary>
public sealed class AuditVerifier(IAuditStore store, AuditKeys keys, AuditHeadFile headFile)
{
    public async Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken, IReadOnlyList<HeadNotes.AuditHeadNote>? headNotes = null)
    {
        var problems = new List<string>();
        long? firstBad = null;
        void Bad(long seq, string why)
        {
            firstBad = firstBad is null ? seq : Math.Min(firstBad.Value, seq);
            problems.Add($"seq {seq}: {why}");
        }

        var stored = await store.ReadChainAsync(cancellationToken);
        foreach (var trigger in stored.MissingGuards)
            problems.Add($"trigger {trigger} is missing: the audit tables no longer refuse UPDATE/DELETE");

        var (disclosures, events, orphans) = (stored.Disclosures, stored.Events, stored.OrphanLookupSeqs);
        foreach (var orphan in orphans) Bad(orphan, "patient lookup rows without their disclosure record");

        var chain = disclosures.Select(d => (d.Seq, d.PrevMac, d.Mac, Canonical: (Func<byte[]>)(() => AuditChain.Canonical(d)), Kind: "disclosure"))
            .Concat(events.Select(e => (e.Seq, e.PrevMac, e.Mac, Canonical: (Func<byte[]>)(() => AuditChain.Canonical(e)), Kind: "event")))
            .OrderBy(x => x.Seq)
            .ToList();

        var macs = new Dictionary<long, string>();
        var expected = ChainHead.Genesis;
        var intact = 0L;
        foreach (var row in chain)
        {
            if (row.Seq != expected.Seq + 1)
            {
                Bad(expected.Seq + 1, row.Seq == expected.Seq
                    ? $"seq {row.Seq} appears twice"
                    : $"record missing: after seq {expected.Seq} the next is {row.Seq}");
                break;
            }
            if (!string.Equals(row.PrevMac, expected.Mac, StringComparison.Ordinal))
            {
                Bad(row.Seq, $"{row.Kind} does not follow seq {expected.Seq} (prev_mac differs): removed, inserted or reordered");
                break;
            }
            if (!string.Equals(keys.ChainMac(row.PrevMac, row.Canonical()), row.Mac, StringComparison.Ordinal))
            {
                Bad(row.Seq, $"{row.Kind} content does not match its MAC: changed");
                break;
            }
            macs[row.Seq] = row.Mac;
            expected = new ChainHead(row.Seq, row.Mac);
            intact++;
        }
        var lastSeq = chain.Count == 0 ? 0 : chain.Max(x => x.Seq);

        long anchored = 0;
        if (!File.Exists(headFile.Path))
        {
            if (chain.Count > 0) problems.Add($"head file {headFile.Path} is missing although the log has records");
        }
        else
        {
            var content = AuditHeadFile.Read(headFile.Path);
            foreach (var line in content.MalformedLines) problems.Add($"head file line {line} is malformed");
            long previous = -1;
            foreach (var noted in content.Entries)
            {
                if (noted.Seq <= previous)
                {
                    problems.Add($"head file goes backwards: seq {noted.Seq} after {previous}");
                    break;
                }
                previous = noted.Seq;
                if (noted.Seq == 0)
                {
                    if (noted.Mac != AuditChain.GenesisMac) problems.Add("head file genesis line is wrong");
                    continue;
                }
                if (noted.Seq > lastSeq)
                {
                    Bad(lastSeq + 1, $"record missing: head file notes seq {noted.Seq}, the log ends at seq {lastSeq} (newest records removed)");
                    break;
                }
                if (macs.TryGetValue(noted.Seq, out var mac))
                {
                    if (mac != noted.Mac) Bad(noted.Seq, "MAC differs from the one noted in the head file");
                    else anchored = noted.Seq;
                }
            }
            if (content.Entries.Count == 0 && chain.Count > 0) problems.Add("head file has no genesis line");
        }

        long notesMatched = 0;
        foreach (var note in headNotes ?? [])
        {
            var from = $"head note of {note.Node} at {note.At:yyyy-MM-dd HH:mm:ss}Z";
            if (!note.IsAuthentic(keys))
            {
                problems.Add($"{from} for seq {note.Seq}: signature is wrong (forged, altered, or made with another master key); refused");
                continue;
            }
            if (note.Seq == 0)
            {
                if (note.Hash != AuditChain.GenesisMac) problems.Add($"{from} for seq 0: hash is not the genesis hash");
                else notesMatched++;
                continue;
            }
            if (note.Seq > lastSeq)
            {
                Bad(lastSeq + 1, $"record missing: {from} notes seq {note.Seq}, the log ends at seq {lastSeq} (newest records removed)");
                continue;
            }
            if (macs.TryGetValue(note.Seq, out var noted))
            {
                if (noted != note.Hash) Bad(note.Seq, $"MAC differs from the one in the {from}");
                else notesMatched++;
            }
            // Otherwise the chain broke before note.Seq, which is reported above.
        }

        return new AuditVerification(
            Ok: problems.Count == 0,
            Disclosures: disclosures.Count,
            Events: events.Count,
            IntactRecords: intact,
            AnchoredSeq: anchored,
            Unanchored: problems.Count == 0 ? Math.Max(0, lastSeq - anchored) : 0,
            FirstBadSeq: firstBad,
            Problems: problems)
        {
            HeadNotesMatched = notesMatched,
        };
    }
}

/// <param name="IntactRecords">Rows (disclosures and events) verified before the first break.</param>
/// <param name="AnchoredSeq">The newest seq the head file notes and the database matches.</param>
/// <param name="Unanchored">Chain-verified rows after <paramref name="AnchoredSeq"/> (written, not yet noted).</param>
/// <param name="FirstBadSeq">The first record found changed, missing, duplicated or out of place.</param>
public sealed record AuditVerification(
    bool Ok,
    long Disclosures,
    long Events,
    long IntactRecords,
    long AnchoredSeq,
    long Unanchored,
    long? FirstBadSeq,
    IReadOnlyList<string> Problems)
{
    /// <summary>Head notes given to the check whose record the chain still holds with the same MAC.</summary>
    public long HeadNotesMatched { get; init; }
}
