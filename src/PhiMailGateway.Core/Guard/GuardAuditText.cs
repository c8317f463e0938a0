namespace PhiMailGateway.Guard;

/// <summary>The detail of a guard event in the audit chain: each check that fired, what it did, and its reason.</summary>
public static class GuardAuditText
{
    public static string Of(GuardVerdict verdict) =>
        string.Join("; ", verdict.Reasons.Select(r => $"{r.Check} {r.Action}: {r.Text}"));

    /// <summary>A person's (or the clock's) decision on a held copy.</summary>
    public static string Of(GuardDecision decision, GuardHold hold) =>
        $"{hold.HoldId} by {decision.By}" + (decision.Reason is { Length: > 0 } reason ? $": {reason}" : "");
}
