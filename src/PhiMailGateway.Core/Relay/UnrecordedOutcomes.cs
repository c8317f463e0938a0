using System.Collections.Concurrent;

namespace PhiMailGateway.Relay;

/// <summary>
/// What the upstream already answered for good (accepted, or refused with 5xx) for deliveries whose
/// record of it has not committed yet, typically because the database failed right after the 250.
/// A later attempt in this process sends only to the other recipients and records these answers
/// instead (invariant 7). Memory only: after a restart a resend is possible (at-least-once), a
/// resend loop within one process is not.
/// </summary>
public sealed class UnrecordedOutcomes
{
    private readonly ConcurrentDictionary<string, IReadOnlyList<RecipientOutcome>> _byDelivery = new(StringComparer.Ordinal);

    public bool IsEmpty => _byDelivery.IsEmpty;

    /// <summary>The answers kept for <paramref name="deliveryId"/>; empty when none.</summary>
    public IReadOnlyList<RecipientOutcome> For(string deliveryId) =>
        !_byDelivery.IsEmpty && _byDelivery.TryGetValue(deliveryId, out var outcomes) ? outcomes : [];

    /// <summary>Keeps the final answers among <paramref name="outcomes"/> (deferrals are retried anyway) beside those already kept.</summary>
    public void Remember(string deliveryId, IEnumerable<RecipientOutcome> outcomes)
    {
        var final = outcomes.Where(o => o.Status != RecipientStatus.Deferred).ToList();
        if (final.Count == 0) return;
        _byDelivery.AddOrUpdate(deliveryId, final, (_, kept) =>
            kept.Where(k => !final.Any(f => string.Equals(f.Recipient, k.Recipient, StringComparison.OrdinalIgnoreCase))).Concat(final).ToList());
    }

    /// <summary>The answers are in the database now.</summary>
    public void Forget(string deliveryId)
    {
        if (!_byDelivery.IsEmpty) _byDelivery.TryRemove(deliveryId, out _);
    }
}
