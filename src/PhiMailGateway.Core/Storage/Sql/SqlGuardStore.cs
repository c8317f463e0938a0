using Dapper;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The guard's knowledge in <c>guard_known</c>, and its reading of the audit tables. Reading
/// "delivered since seq N" up to the highest committed seq is safe with several instances on one
/// database: seqs are handed out under the chain lock, which is held until commit, so no lower seq
/// can still become visible after a higher one.
/// </summary>
public sealed class SqlGuardStore(ISqlDatabase database) : IGuardStore
{
    // A delivered disclosure of images: a Relayed event for the recipient of a disclosure with PHI.
    private readonly string _deliveredSince = $"""
        SELECT d.recipient, d.recipient_name
        FROM audit_events e
        JOIN disclosures d ON d.delivery_id = e.delivery_id AND {database.Dialect.EqualIgnoringCase("d.recipient", "e.recipient")}
        WHERE e.type = @relayed AND d.phi_count > 0 AND e.seq > @afterSeq AND e.seq <= @upTo
        ORDER BY e.seq
        """;

    private readonly string _patientRecipients = $"""
        SELECT DISTINCT p.patient_lookup, lower(d.recipient)
        FROM disclosure_patients p
        JOIN disclosures d ON d.seq = p.disclosure_seq
        WHERE {database.Dialect.In("p.patient_lookup", "@lookups")} AND d.phi_count > 0
          AND EXISTS (SELECT 1 FROM audit_events e WHERE e.delivery_id = d.delivery_id AND e.type = @relayed
                      AND {database.Dialect.EqualIgnoringCase("e.recipient", "d.recipient")})
        """;

    private readonly string _listKnown = $"SELECT entry, source, added_at, added_by FROM guard_known ORDER BY {database.Dialect.Binary("entry")}";

    public Task<GuardHistory> ReadDeliveredSinceAsync(long afterSeq, CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var upTo = await c.ExecuteScalarAsync<long?>("SELECT MAX(seq) FROM audit_events") ?? 0;
            if (upTo <= afterSeq) return new GuardHistory([], afterSeq);
            var rows = await c.QueryAsync<(string Address, string? Name)>(_deliveredSince, new { relayed = AuditEventTypes.Relayed, afterSeq, upTo });
            return new GuardHistory(rows.AsList(), upTo);
        }, cancellationToken);

    public Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> PatientRecipientsAsync(IReadOnlyCollection<string> patientLookups,
        CancellationToken cancellationToken)
    {
        if (patientLookups.Count == 0) return Task.FromResult<IReadOnlyDictionary<string, IReadOnlyList<string>>>(new Dictionary<string, IReadOnlyList<string>>());
        return database.ReadAsync(async c =>
        {
            var rows = await c.QueryAsync<(string Lookup, string Address)>(
                _patientRecipients, new { lookups = SqlDialect.ListParameter(patientLookups), relayed = AuditEventTypes.Relayed });
            var byLookup = patientLookups.Distinct(StringComparer.Ordinal).ToDictionary(l => l, _ => new List<string>(), StringComparer.Ordinal);
            foreach (var (lookup, address) in rows) byLookup[lookup].Add(address);
            return (IReadOnlyDictionary<string, IReadOnlyList<string>>)byLookup.ToDictionary(
                kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value.Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        }, cancellationToken);
    }

    public Task<long> KnownVersionAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(c => c.ExecuteScalarAsync<long>("SELECT known_version FROM guard_state WHERE id = 1"), cancellationToken);

    public Task<IReadOnlyList<KnownEntry>> ListKnownAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async c => (IReadOnlyList<KnownEntry>)(await c.QueryAsync<(string Entry, string Source, long AddedAt, string? AddedBy)>(_listKnown))
            .Select(r => new KnownEntry(r.Entry, r.Source, DateTimeOffset.FromUnixTimeMilliseconds(r.AddedAt), r.AddedBy)).ToList(), cancellationToken);

    public Task<bool> AddKnownAsync(KnownEntry entry, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            var added = await c.ExecuteAsync(
                "INSERT INTO guard_known (entry, source, added_at, added_by) VALUES (@Entry, @Source, @at, @AddedBy) ON CONFLICT (entry) DO NOTHING",
                new { entry.Entry, entry.Source, at = entry.AddedAt.ToUnixTimeMilliseconds(), entry.AddedBy }, t) > 0;
            if (added) await c.ExecuteAsync("UPDATE guard_state SET known_version = known_version + 1 WHERE id = 1", transaction: t);
            return added;
        }, cancellationToken);

    public Task<bool> RemoveKnownAsync(string entry, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) =>
        {
            var removed = await c.ExecuteAsync("DELETE FROM guard_known WHERE entry = @entry", new { entry }, t) > 0;
            if (removed) await c.ExecuteAsync("UPDATE guard_state SET known_version = known_version + 1 WHERE id = 1", transaction: t);
            return removed;
        }, cancellationToken);
}
