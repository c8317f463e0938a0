using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Guard;

/// <summary>
/// Turns the guard's Hold verdicts of one message into held copies and the sender's notice, ready
/// to commit with the message's other copies. One link token per message: the sender's page lists
/// every copy held from it. The token goes only into the notice; storage keeps its SHA-256.
/// </summary>
public sealed class HeldCopies(GuardOptions options, GuardNotices notices, TimeProvider time)
{
    public async Task<PreparedHolds> PrepareAsync(string queueId, string sender, GuardPlan plan, bool othersWent, CancellationToken cancellationToken)
    {
        var held = plan.Held.ToList();
        if (held.Count == 0) return PreparedHolds.None;
        var notify = notices.Notifies(sender);
        var token = PickupSecrets.NewToken();
        var expires = time.GetUtcNow() + options.ConfirmWindow;
        var holds = held.Select((v, i) => new NewGuardHold($"{queueId}-H{i + 1}", v.Recipient, v.Reasons, notify ? PickupSecrets.Hash(token) : null, expires))
            .ToList();
        var notice = notify ? await notices.HeldAsync(queueId, sender, holds, token, othersWent, cancellationToken) : null;
        return new PreparedHolds(holds, notice);
    }
}

/// <param name="Notice">The sender's "please check the address" mail, or null when the sender is not told.</param>
public sealed record PreparedHolds(IReadOnlyList<NewGuardHold> Holds, NewDelivery? Notice)
{
    public static readonly PreparedHolds None = new([], null);
}
