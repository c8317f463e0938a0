using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.PickupWeb;

/// <summary>
/// Retention: marks packages past their expiry as Expired (with an audit record) and deletes the
/// content and wrapped key of every package that can no longer be opened (expired, revoked, all
/// downloads used). The package row stays as the record that it existed.
/// </summary>
public sealed partial class PickupRetentionSweeper(PickupPackageStore store, IAuditTrail audit, PickupOptions options, ILogger<PickupRetentionSweeper> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepInterval);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // Retention runs again at the next tick; a failure must not stop the gateway.
                    LogSweepFailed(logger, e.GetType().Name);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping, including after another service failed to start: not a failure of retention.
        }
    }

    /// <summary>One pass; returns how many packages had their content deleted.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        foreach (var expired in await store.ExpireDueAsync(cancellationToken))
        {
            await audit.AppendAsync(new AuditEvent(AuditEventTypes.PickupExpired, expired.QueueId, null, expired.Recipient,
                "link expired; content and key deleted", expired.PackageId), cancellationToken);
        }
        var purged = 0;
        foreach (var packageId in await store.PurgeableAsync(cancellationToken))
        {
            await store.PurgeAsync(packageId, cancellationToken);
            purged++;
        }
        var orphans = await store.RemoveOrphansAsync(cancellationToken);
        if (purged + orphans > 0) LogSwept(logger, purged, orphans);
        return purged;
    }

    [LoggerMessage(EventId = 7301, Level = LogLevel.Information, Message = "Pickup retention: content of {PurgedCount} packages deleted, {OrphanCount} orphaned folders removed")]
    private static partial void LogSwept(ILogger logger, int purgedCount, int orphanCount);

    [LoggerMessage(EventId = 7302, Level = LogLevel.Warning, Message = "Pickup retention pass failed ({ErrorType}); retrying at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, string errorType);
}
