using PhiMailGateway.Audit;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Guard;

/// <summary>
/// Where a held copy stands. Held and Released keep the message open (its spool file stays);
/// Sent, Cancelled and Expired are final.
/// </summary>
public static class GuardHoldStates
{
    /// <summary>Waiting for the sender or IT; nothing went out for this recipient.</summary>
    public const string Held = "Held";

    /// <summary>"Send anyway": the queue worker runs the copy through protection next.</summary>
    public const string Released = "Released";

    /// <summary>The released copy was made and enqueued with its disclosure record.</summary>
    public const string Sent = "Sent";

    /// <summary>"Don't send", or IT's <c>guard cancel</c>: it never leaves.</summary>
    public const string Cancelled = "Cancelled";

    /// <summary>Nobody decided within <c>Guard:ConfirmWindow</c>: cancelled, and the sender told.</summary>
    public const string Expired = "Expired";

    public static readonly IReadOnlyCollection<string> Open = [Held, Released];
}

/// <summary>A row of <c>guard_holds</c>, with its message's envelope sender. Times are unix milliseconds (UTC).</summary>
public sealed class GuardHold
{
    public string HoldId { get; init; } = "";
    public string QueueId { get; init; } = "";
    public string Recipient { get; init; } = "";

    /// <summary>The reasons in the sender's words, one per line.</summary>
    public string Reasons { get; init; } = "";

    /// <summary>The checks that held it (<see cref="GuardCheck"/> names), comma-separated.</summary>
    public string Checks { get; init; } = "";

    public string State { get; init; } = "";
    public long CreatedAt { get; init; }
    public long ExpiresAt { get; init; }
    public long? DecidedAt { get; init; }
    public string? DecidedBy { get; init; }
    public string? DecisionReason { get; init; }

    public long Attempts { get; init; }
    public long NextAttemptAt { get; init; }
    public string? LastError { get; init; }

    /// <summary>The message's envelope sender (from <c>messages</c>).</summary>
    public string Sender { get; init; } = "";

    public IReadOnlyList<string> ReasonLines => Reasons.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>Held by its rule (<see cref="GuardCheck.RuleHold"/>) and by no check of the address: the sender decides whether it goes, not whether the address is right.</summary>
    public bool HeldByRuleAlone => Checks.Split(',').All(c => c == nameof(GuardCheck.RuleHold));

    public bool IsExpired(DateTimeOffset now) => State == GuardHoldStates.Held && now.ToUnixTimeMilliseconds() >= ExpiresAt;
}

/// <summary>A copy the guard holds, about to be committed with its message's other copies.</summary>
public sealed record NewGuardHold(string HoldId, string Recipient, IReadOnlyList<GuardReason> Reasons, DateTimeOffset ExpiresAt)
{
    public string ReasonText => string.Join('\n', Reasons.Where(r => r.Action == GuardAction.Hold).Select(r => r.Text));

    public string CheckNames => string.Join(',', Reasons.Where(r => r.Action == GuardAction.Hold).Select(r => r.Check.ToString()));
}

/// <summary>A person's (or the clock's) answer to a held copy.</summary>
/// <param name="State"><see cref="GuardHoldStates.Released"/>, <see cref="GuardHoldStates.Cancelled"/> or <see cref="GuardHoldStates.Expired"/>.</param>
/// <param name="By"><c>sender</c>, <c>IT (user)</c>, or <c>expiry</c>.</param>
/// <param name="Reason">What the person wrote ("Send anyway" reason), when anything.</param>
public sealed record GuardDecision(string State, string By, string? Reason);

/// <summary>
/// The held copies, kept by storage. Every change commits with its audit events in one
/// transaction; a copy is decided once (only a Held copy can be released, cancelled or expire).
/// </summary>
public interface IGuardHolds
{
    Task<GuardHold?> FindAsync(string holdId, CancellationToken cancellationToken);

    /// <summary>The message a sender's link (by the SHA-256 of its token) is for, while the link works; else null.</summary>
    Task<string?> LinkedMessageAsync(string tokenHash, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>What the sender's page shows of one message: its held copies, its copies, its pickup packages.</summary>
    Task<SenderView> SenderViewAsync(string queueId, CancellationToken cancellationToken);

    /// <summary>
    /// Recall: a copy still waiting out <c>Guard:SendDelay</c> (never tried, not yet due) is settled
    /// without leaving, its recipients failed as recalled, with <paramref name="events"/>, in one
    /// transaction. False when it is due or was tried already: then it is on its way and nothing changed.
    /// </summary>
    Task<HoldDecided> RecallAsync(string deliveryId, DateTimeOffset now, IReadOnlyList<AuditRow> events, CancellationToken cancellationToken);

    /// <summary>Holds in any of <paramref name="states"/>, oldest first.</summary>
    Task<IReadOnlyList<GuardHold>> InStatesAsync(IReadOnlyCollection<string> states, CancellationToken cancellationToken);

    /// <summary>Work for the queue worker: released holds whose next try is due, and held ones whose window passed.</summary>
    Task<IReadOnlyList<GuardHold>> DueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken);

    /// <summary>Making a released copy failed: one more attempt counted, not due before <paramref name="nextAttempt"/>.</summary>
    Task DeferAsync(string holdId, DateTimeOffset nextAttempt, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Held → <paramref name="decision"/>'s state, with <paramref name="events"/> and, when given,
    /// <paramref name="notice"/> (the sender told of an expiry) in one transaction. A cancel or
    /// expiry that leaves the message nothing to wait for finishes it. False when the copy was not
    /// Held any more (decided meanwhile); then nothing changed.
    /// </summary>
    Task<HoldDecided> DecideAsync(string holdId, GuardDecision decision, IReadOnlyList<AuditRow> events, NewDelivery? notice,
        CancellationToken cancellationToken);

    /// <summary>
    /// Released → Sent, with the copies protection made for it and their disclosure records (invariant
    /// 2) in one transaction. A release whose copies are all refused by a rule may bring only a DSN, or
    /// nothing; then the message may finish here.
    /// </summary>
    Task<HoldDecided> CommitReleaseAsync(string holdId, IReadOnlyList<NewDelivery> outbound, IReadOnlyList<AuditRow> records,
        CancellationToken cancellationToken);
}

/// <param name="Changed">False when the hold was not in the state the change needs (someone decided first).</param>
/// <param name="FilesToDelete">When the change finished the message: its spool file and copies, no longer needed.</param>
public sealed record HoldDecided(bool Changed, IReadOnlyList<string> FilesToDelete);

/// <summary>The sender's link of one message, committed with it: the token itself goes only into the sender's mails.</summary>
public sealed record NewSenderLink(string TokenHash, DateTimeOffset ExpiresAt);

/// <summary>What the guard commits with a message: its held copies and the sender's link (when the sender gets mail about it).</summary>
public sealed record GuardRecords(IReadOnlyList<NewGuardHold> Holds, NewSenderLink? Link)
{
    public static readonly GuardRecords None = new([], null);
}

/// <summary>A copy of a message as its sender's page shows it.</summary>
/// <param name="NotBefore">When it may leave (unix ms); later than now while it waits out the send delay.</param>
/// <param name="Recallable">Never tried and not yet due: Recall still stops it.</param>
public sealed record SenderCopy(string DeliveryId, string Recipient, string Action, long NotBefore, bool Recallable, string Status);

/// <param name="Opened">Downloaded at least once: a revocation would come too late to matter.</param>
public sealed record SenderPackage(string PackageId, string Recipient, string State, bool Opened, long ExpiresAt);

public sealed record SenderView(string QueueId, IReadOnlyList<GuardHold> Holds, IReadOnlyList<SenderCopy> Copies, IReadOnlyList<SenderPackage> Packages);
