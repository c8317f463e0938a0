using Dapper;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// The shared audit chain in the <c>disclosures</c>, <c>disclosure_patients</c> and
/// <c>audit_events</c> tables; triggers (migration 0001) refuse UPDATE, DELETE and TRUNCATE.
/// `audit verify` on any instance reads the whole chain, whichever instance wrote each row.
/// </summary>
public sealed class PostgreSqlAuditStore(PostgreSqlGatewayStorage storage, AuditChainSealer sealer) : IAuditStore
{
    /// <summary>The triggers that make the audit tables append-only; `audit verify` reports any that is gone.</summary>
    public static readonly IReadOnlyList<string> Triggers =
    [
        "disclosures_no_update", "disclosures_no_delete", "disclosures_no_truncate",
        "disclosure_patients_no_update", "disclosure_patients_no_delete", "disclosure_patients_no_truncate",
        "audit_events_no_update", "audit_events_no_delete", "audit_events_no_truncate",
    ];

    public Task<ChainHead> AppendAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken) =>
        storage.WriteAsync(async (c, t) => await PostgreSqlAuditChain.AppendAsync(sealer, c, t, rows) ?? await PostgreSqlAuditChain.ReadHeadAsync(c, t), cancellationToken);

    public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken) =>
        storage.ReadAsync(c => PostgreSqlAuditChain.ReadHeadAsync(c), cancellationToken);

    public Task OpenChainAsync(CancellationToken cancellationToken) =>
        storage.WriteAsync((c, t) => PostgreSqlAuditChain.OpenAsync(sealer, c, t), cancellationToken);

    public Task<StoredAuditChain> ReadChainAsync(CancellationToken cancellationToken) =>
        storage.ReadAsync(async connection =>
        {
            // One snapshot for the whole read, so rows another instance appends meanwhile cannot
            // show up in one table and not yet in the other.
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            var present = (await connection.QueryAsync<string>(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D'", transaction: transaction)).ToHashSet(StringComparer.Ordinal);
            var disclosures = (await connection.QueryAsync<DisclosureRow>("SELECT * FROM disclosures ORDER BY seq", transaction: transaction)).AsList();
            var lookups = (await connection.QueryAsync<(long Seq, string Lookup)>("SELECT disclosure_seq, patient_lookup FROM disclosure_patients", transaction: transaction))
                .ToLookup(x => x.Seq, x => x.Lookup);
            foreach (var d in disclosures) d.PatientLookups = lookups[d.Seq].ToList();
            var events = (await connection.QueryAsync<AuditEventRow>("SELECT * FROM audit_events ORDER BY seq", transaction: transaction)).AsList();
            var orphans = lookups.Select(g => g.Key).Except(disclosures.Select(d => d.Seq)).Order().ToList();
            return new StoredAuditChain(disclosures, events, orphans, Triggers.Where(t => !present.Contains(t)).ToList());
        }, cancellationToken);

    public Task<IReadOnlyList<DisclosureRow>> FindDisclosuresAsync(DisclosureFilter filter, CancellationToken cancellationToken)
    {
        var sql = "SELECT * FROM disclosures WHERE TRUE";
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
        return storage.ReadAsync(async c => (IReadOnlyList<DisclosureRow>)(await c.QueryAsync<DisclosureRow>(sql, parameters)).AsList(), cancellationToken);
    }

    public Task<IReadOnlyList<AuditEventRow>> FindEventsAsync(IReadOnlyCollection<string> queueIds, IReadOnlyCollection<string> packageIds,
        CancellationToken cancellationToken) =>
        storage.ReadAsync(async connection =>
        {
            var queues = queueIds.Distinct(StringComparer.Ordinal).ToArray();
            var packages = packageIds.Distinct(StringComparer.Ordinal).ToArray();
            // One statement with arrays: PostgreSQL has no limit on bound parameters to chunk for.
            var events = await connection.QueryAsync<AuditEventRow>(
                """
                SELECT * FROM audit_events WHERE queue_id = ANY(@queues)
                UNION ALL
                SELECT * FROM audit_events WHERE package_id = ANY(@packages) AND queue_id IS NULL
                ORDER BY seq
                """, new { queues, packages });
            return (IReadOnlyList<AuditEventRow>)events.AsList();
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEventRow>> FindEventsOfTypesAsync(IReadOnlyCollection<string> types, DateTimeOffset? since, DateTimeOffset? until,
        CancellationToken cancellationToken) =>
        storage.ReadAsync(async connection => (IReadOnlyList<AuditEventRow>)(await connection.QueryAsync<AuditEventRow>(
            "SELECT * FROM audit_events WHERE type = ANY(@types) AND recorded_at >= @since AND recorded_at < @until ORDER BY seq",
            new { types = types.ToArray(), since = since?.ToUnixTimeMilliseconds() ?? long.MinValue, until = until?.ToUnixTimeMilliseconds() ?? long.MaxValue })).AsList(),
            cancellationToken);
}
