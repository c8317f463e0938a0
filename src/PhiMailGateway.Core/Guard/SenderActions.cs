using PhiMailGateway.Audit;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Guard;

/// <summary>
/// What the sender's page does besides deciding held copies: Recall a copy still waiting out
/// Guard:SendDelay (it never leaves; a pickup copy's package goes too, so nothing stays to be
/// opened), and Revoke a pickup link that was not opened yet (the pickup page then says revoked).
/// Each is audited with where the request came from.
/// </summary>
public sealed class SenderActions(IGuardHolds holds, PickupPackageStore packages, IAuditTrail trail, SpoolDirectory spool, TimeProvider time)
{
    /// <returns>False when the copy is already on its way (due, or tried), or is not this message's.</returns>
    public async Task<bool> RecallAsync(SenderView view, string deliveryId, Origin origin, CancellationToken cancellationToken)
    {
        var copies = view.Copies.Where(c => c.DeliveryId == deliveryId && c.Recallable).ToList();
        if (copies.Count == 0) return false;
        var events = await trail.RowsForAsync(copies.Select(c => new AuditEvent(AuditEventTypes.Recalled, view.QueueId, deliveryId, c.Recipient,
            "recalled by the sender during the send delay", ClientAddress: origin.ClientAddress, UserAgent: origin.UserAgent)).ToList(), cancellationToken);
        var recalled = await holds.RecallAsync(deliveryId, time.GetUtcNow(), events, cancellationToken);
        if (!recalled.Changed) return false;
        await trail.CommittedAsync(cancellationToken);
        foreach (var copy in copies.Where(c => c.Action == nameof(RoutingAction.Pickup)))
        {
            foreach (var package in view.Packages.Where(p => string.Equals(p.Recipient, copy.Recipient, StringComparison.OrdinalIgnoreCase)))
                await RevokeAsync(view, package.PackageId, origin, "revoked with its recalled copy", cancellationToken);
        }
        spool.DeleteFinished(recalled.FilesToDelete);
        return true;
    }

    /// <returns>False when the package is not this message's, was opened, or is no longer active.</returns>
    public Task<bool> RevokeAsync(SenderView view, string packageId, Origin origin, CancellationToken cancellationToken) =>
        RevokeAsync(view, packageId, origin, "revoked by the sender from the receipt", cancellationToken);

    private async Task<bool> RevokeAsync(SenderView view, string packageId, Origin origin, string detail, CancellationToken cancellationToken)
    {
        var package = view.Packages.FirstOrDefault(p => p.PackageId == packageId);
        if (package is null || package.Opened || package.State != PackageStates.Active) return false;
        if (!await packages.RevokeAsync(packageId, cancellationToken)) return false;
        await trail.AppendAsync(new AuditEvent(AuditEventTypes.PickupRevoked, view.QueueId, null, package.Recipient, detail, packageId,
            origin.ClientAddress, origin.UserAgent), cancellationToken);
        return true;
    }
}
