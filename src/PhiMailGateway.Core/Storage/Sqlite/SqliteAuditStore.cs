using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>The audit chain in the <c>disclosures</c> and <c>audit_events</c> tables of <c>gateway.db</c>.</summary>
public sealed class SqliteAuditStore(GatewayDatabase database, AuditChainSealer sealer) : IAuditStore
{
    public Task<ChainHead> AppendAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken) =>
        database.WriteAsync(async (c, t) => await SqliteAuditChain.AppendAsync(sealer, c, t, rows) ?? await SqliteAuditChain.ReadHeadAsync(c, t), cancellationToken);

    public Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(c => SqliteAuditChain.ReadHeadAsync(c), cancellationToken);

    public Task OpenChainAsync(CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => SqliteAuditChain.OpenAsync(sealer, c, t), cancellationToken);
}
