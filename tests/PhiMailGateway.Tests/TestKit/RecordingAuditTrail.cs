using System.Collections.Concurrent;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// Keeps every audit event in memory for assertions, and hands each on to the gateway's real,
/// hash-chained audit trail (<see cref="Over"/>), so the test runs with the real audit, not a stand-in.
/// </summary>
public sealed class RecordingAuditTrail : IAuditTrail
{
    private readonly ConcurrentQueue<AuditEvent> _events = new();
    private IAuditTrail? _inner;

    public IReadOnlyList<AuditEvent> Events => _events.ToArray();

    public IReadOnlyList<AuditEvent> For(string packageId) => Events.Where(e => e.PackageId == packageId).ToList();

    /// <summary>Forwards to <paramref name="inner"/> from now on; returns this recorder (for a service factory).</summary>
    public RecordingAuditTrail Over(IAuditTrail inner)
    {
        _inner = inner;
        return this;
    }

    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        if (_inner is not null) await _inner.AppendAsync(auditEvent, cancellationToken);
        _events.Enqueue(auditEvent);
    }

    public async Task<IReadOnlyList<AuditRow>> RowsForAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        IReadOnlyList<AuditRow> rows = _inner is null ? [] : await _inner.RowsForAsync(events, cancellationToken);
        foreach (var auditEvent in events) _events.Enqueue(auditEvent);
        return rows;
    }

    public Task CommittedAsync(CancellationToken cancellationToken) => _inner?.CommittedAsync(cancellationToken) ?? Task.CompletedTask;
}
