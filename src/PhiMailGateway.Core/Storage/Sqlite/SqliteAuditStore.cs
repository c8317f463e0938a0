using Dapper;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// The audit chain in the <c>disclosures</c>, <c>disclosure_patients</c> and <c>audit_events</c>
/// tables of <c>gateway.db</c>; triggers (migration 0002) refuse UPDATE and DELETE on them.
/// </summary>
public sealed class SqliteAuditStore(GatewayDatabase database, AuditChainSealer sealer) : IAuditStore
{
    /// <summary>The triggers that make the audit tables append-only; `audit verify` reports any that is gone.</summary>
    public static readonly IReadOnlyList<string> Triggers =
    [
        "disclosures_no_update", "disclosures_no_delete",
        "disclosure_patients_no_update", "disclosure_patients_no_delete",
        "audit_events_no_update", "audit_events_no_delete",
    ];

    public Task<ChainHead> AppendAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => await SqliteAuditChain.AppendAsync(sealer, c, t, rows) ?? await SqliteAuditChain.ReadHeadAsync(c, t), cancellationToken);

    public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(c => SqliteAuditChain.ReadHeadAsync(c), cancellationToken);

    public Task OpenChainAsync(CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => SqliteAuditChain.OpenAsync(sealer, c, t), cancellationToken);

    public Task<StoredAuditChain> ReadChainAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(async connection =>
        {
            var present = (await connection.QueryAsync<string>("SELECT name FROM sqlite_master WHERE type = 'trigger'")).ToHashSet(StringComparer.Ordinal);
            var disclosures = (await connection.QueryAsync<DisclosureRow>("SELECT * FROM disclosures ORDER BY seq")).AsList();
            var lookups = (await connection.QueryAsync<(long Seq, string Lookup)>("SELECT disclosure_seq, patient_lookup FROM disclosure_patients"))
                .ToLookup(x => x.Seq, x => x.Lookup);
            foreach (var d in disclosures) d.PatientLookups = lookups[d.Seq].ToList();
            var events = (await connection.QueryAsync<AuditEventRow>("SELECT * FROM audit_events ORDER BY seq")).AsList();
            var orphans = lookups.Select(g => g.Key).Except(disclosures.Select(d => d.Seq)).Order().ToList();
            return new StoredAuditChain(disclosures, events, orphans, Triggers.Where(t => !present.Contains(t)).ToList());
        }, cancellationToken);

    public Task<IReadOnlyList<DisclosureRow>> FindDisclosuresAsync(DisclosureFilter filter, CancellationToken cancellationToken)
    {
        var sql = "SELECT * FROM disclosures WHERE 1 = 1";
        var parameters = new DynamicParameters();
        if (filter.Since is { } since)
        {
            sql += " AND recorded_at >= @since";
            parameters.Add("since", since.ToUnixTimeMilliseconds());
        }
        if (filter.Until is { } until)
        {
            sql += " AND recorded_at < @until";
            parameters.Add("until", until.ToUnixTimeMilliseconds());
        }
        if (filter.Recipient is { } recipient)
        {
            sql += " AND LOWER(recipient) = @recipient";
            parameters.Add("recipient", recipient.Trim().ToLowerInvariant());
        }
        if (filter.PatientLookup is { } lookup)
        {
            sql += " AND seq IN (SELECT disclosure_seq FROM disclosure_patients WHERE patient_lookup = @lookup)";
            parameters.Add("lookup", lookup);
        }
        sql += " ORDER BY seq";
        return database.ReadAsync(async c => (IReadOnlyList<DisclosureRow>)(await c.QueryAsync<DisclosureRow>(sql, parameters)).AsList(), cancellationToken);
    }

    public Task<IReadOnlyList<AuditEventRow>> FindEventsAsync(IReadOnlyCollection<string> queueIds, IReadOnlyCollection<string> packageIds,
        CancellationToken cancellationToken) =>
        database.ReadAsync(async connection =>
        {
            var events = new List<AuditEventRow>();
            // Chunks keep each IN list well below SQLite's limit on bound parameters.
            foreach (var chunk in queueIds.Distinct(StringComparer.Ordinal).Chunk(500))
                events.AddRange(await connection.QueryAsync<AuditEventRow>("SELECT * FROM audit_events WHERE queue_id IN @chunk ORDER BY seq", new { chunk }));
            foreach (var chunk in packageIds.Distinct(StringComparer.Ordinal).Chunk(500))
                events.AddRange(await connection.QueryAsync<AuditEventRow>("SELECT * FROM audit_events WHERE package_id IN @chunk AND queue_id IS NULL ORDER BY seq", new { chunk }));
            return (IReadOnlyList<AuditEventRow>)events;
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEventRow>> FindEventsOfTypesAsync(IReadOnlyCollection<string> types, DateTimeOffset? since, DateTimeOffset? until,
        CancellationToken cancellationToken) =>
        database.ReadAsync(async connection => (IReadOnlyList<AuditEventRow>)(await connection.QueryAsync<AuditEventRow>(
            "SELECT * FROM audit_events WHERE type IN @types AND recorded_at >= @since AND recorded_at < @until ORDER BY seq",
            new { types, since = since?.ToUnixTimeMilliseconds() ?? long.MinValue, until = until?.ToUnixTimeMilliseconds() ?? long.MaxValue })).AsList(),
            cancellationToken);
}
