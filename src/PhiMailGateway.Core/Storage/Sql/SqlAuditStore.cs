using Dapper;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// The audit chain in the <c>disclosures</c>, <c>disclosure_patients</c> and <c>audit_events</c>
/// tables; triggers (SQLite migration 0002, PostgreSQL 0001) refuse UPDATE and DELETE on them, and
/// TRUNCATE in PostgreSQL. On a shared database `audit verify` on any instance reads the whole
/// chain, whichever instance wrote each row.
/// </summary>
public sealed class SqlAuditStore(ISqlDatabase database, AuditChainSealer sealer) : IAuditStore
{
    private readonly SqlDialect _dialect = database.Dialect;

    private readonly string _eventsOfQueues = $"SELECT * FROM audit_events WHERE {database.Dialect.In("queue_id", "@chunk")}";

    private readonly string _eventsOfPackages = $"SELECT * FROM audit_events WHERE {database.Dialect.In("package_id", "@chunk")} AND queue_id IS NULL";

    private readonly string _eventsOfTypes =
        $"SELECT * FROM audit_events WHERE {database.Dialect.In("type", "@types")} AND recorded_at >= @since AND recorded_at < @until ORDER BY seq";

    public Task<ChainHead> AppendAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => await SqlAuditChain.AppendAsync(_dialect, sealer, c, t, rows) ?? await SqlAuditChain.ReadHeadAsync(c, t), cancellationToken);

    public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(c => SqlAuditChain.ReadHeadAsync(c), cancellationToken);

    public Task OpenChainAsync(CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => SqlAuditChain.OpenAsync(_dialect, sealer, c, t), cancellationToken);

    /// <summary>One snapshot for the whole read, so rows another writer appends meanwhile cannot show up in one table and not yet in the other.</summary>
    public Task<StoredAuditChain> ReadChainAsync(CancellationToken cancellationToken) =>
        database.ReadSnapshotAsync(async (connection, transaction) =>
        {
            var present = (await connection.QueryAsync<string>(_dialect.TriggerNames, transaction: transaction)).ToHashSet(StringComparer.Ordinal);
            var disclosures = (await connection.QueryAsync<DisclosureRow>("SELECT * FROM disclosures ORDER BY seq", transaction: transaction)).AsList();
            var lookups = (await connection.QueryAsync<(long Seq, string Lookup)>("SELECT disclosure_seq, patient_lookup FROM disclosure_patients", transaction: transaction))
                .ToLookup(x => x.Seq, x => x.Lookup);
            foreach (var d in disclosures) d.PatientLookups = lookups[d.Seq].ToList();
            var events = (await connection.QueryAsync<AuditEventRow>("SELECT * FROM audit_events ORDER BY seq", transaction: transaction)).AsList();
            var orphans = lookups.Select(g => g.Key).Except(disclosures.Select(d => d.Seq)).Order().ToList();
            return new StoredAuditChain(disclosures, events, orphans, _dialect.AuditTriggers.Where(t => !present.Contains(t)).ToList());
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
            // Chunks keep each IN list well below SQLite's limit on bound parameters (PostgreSQL binds each as one array).
            foreach (var chunk in queueIds.Distinct(StringComparer.Ordinal).Chunk(500))
                events.AddRange(await connection.QueryAsync<AuditEventRow>(_eventsOfQueues, new { chunk }));
            foreach (var chunk in packageIds.Distinct(StringComparer.Ordinal).Chunk(500))
                events.AddRange(await connection.QueryAsync<AuditEventRow>(_eventsOfPackages, new { chunk }));
            events.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            return (IReadOnlyList<AuditEventRow>)events;
        }, cancellationToken);

    public Task<IReadOnlyList<AuditEventRow>> FindEventsOfTypesAsync(IReadOnlyCollection<string> types, DateTimeOffset? since, DateTimeOffset? until,
        CancellationToken cancellationToken) =>
        database.ReadAsync(async connection => (IReadOnlyList<AuditEventRow>)(await connection.QueryAsync<AuditEventRow>(
            _eventsOfTypes,
            new { types = SqlDialect.ListParameter(types), since = since?.ToUnixTimeMilliseconds() ?? long.MinValue, until = until?.ToUnixTimeMilliseconds() ?? long.MaxValue })).AsList(),
            cancellationToken);
}
