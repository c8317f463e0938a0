using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Guard;

/// <summary>
/// A person's answer to a held copy, from the sender's page or IT's <c>guard release</c> /
/// <c>guard cancel</c>: the hold changes state with its audit event (who, why, from where) in one
/// transaction, only while it is still Held, so a copy is decided once. "Send anyway" makes the
/// address known, so the next message to it passes; the queue worker then makes the copy.
/// "Don't send" may finish the message (nothing else waits), and its files go.
/// </summary>
public sealed class GuardDecisions(IGuardHolds holds, IGuardStore store, IAuditTrail trail, SpoolDirectory spool, ProcessingSignal signal, TimeProvider time)
{
    /// <summary>Longest reason text kept in the audit.</summary>
    public const int MaxReasonLength = 500;

    /// <param name="by"><c>sender</c>, or <c>IT (user)</c>.</param>
    /// <returns>False when the copy was not Held any more (already decided, or expired meanwhile).</returns>
    public Task<bool> ReleaseAsync(GuardHold hold, string by, string? reason, Origin? origin, CancellationToken cancellationToken) =>
        DecideAsync(hold, new GuardDecision(GuardHoldStates.Released, by, Clean(reason)), AuditEventTypes.GuardConfirmed, origin, cancellationToken);

    public Task<bool> CancelAsync(GuardHold hold, string by, string? reason, Origin? origin, CancellationToken cancellationToken) =>
        DecideAsync(hold, new GuardDecision(GuardHoldStates.Cancelled, by, Clean(reason)), AuditEventTypes.GuardCancelled, origin, cancellationToken);

    private async Task<bool> DecideAsync(GuardHold hold, GuardDecision decision, string eventType, Origin? origin, CancellationToken cancellationToken)
    {
        // A copy whose window passed is the expiry's to cancel, with its notice to the sender.
        if (hold.IsExpired(time.GetUtcNow())) return false;
        var events = await trail.RowsForAsync([new AuditEvent(eventType, hold.QueueId, null, hold.Recipient, GuardAuditText.Of(decision, hold),
            ClientAddress: origin?.ClientAddress, UserAgent: origin?.UserAgent)], cancellationToken);
        var decided = await holds.DecideAsync(hold.HoldId, decision, events, notice: null, cancellationToken);
        if (!decided.Changed) return false;
        await trail.CommittedAsync(cancellationToken);
        spool.DeleteFinished(decided.FilesToDelete);
        if (decision.State == GuardHoldStates.Released && KnownEntry.Normalize(hold.Recipient) is { } address)
            await store.AddKnownAsync(new KnownEntry(address, KnownSources.Confirmed, time.GetUtcNow(), decision.By), cancellationToken);
        signal.Notify();
        return true;
    }

    private static string? Clean(string? reason)
    {
        if (reason is null) return null;
        var text = new string(reason.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
        return text.Length == 0 ? null : text.Length > MaxReasonLength ? text[..MaxReasonLength] : text;
    }

}

/// <summary>Where a web decision came from, for the audit.</summary>
public sealed record Origin(string? ClientAddress, string? UserAgent);
