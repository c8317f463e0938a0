using System.Collections.Concurrent;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>An <see cref="IAuditTrail"/> that keeps every event in memory, for assertions.</summary>
public sealed class RecordingAuditTrail : IAuditTrail
{
    private readonly ConcurrentQueue<AuditEvent> _events = new();

    public IReadOnlyList<AuditEvent> Events => _events.ToArray();

    public IReadOnlyList<AuditEvent> For(string packageId) => Events.Where(e => e.PackageId == packageId).ToList();

    public Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        _events.Enqueue(auditEvent);
        return Task.CompletedTask;
    }
}
