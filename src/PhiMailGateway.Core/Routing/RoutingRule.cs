namespace PhiMailGateway.Routing;

/// <summary>What happens to a recipient's copy of a message.</summary>
public enum RoutingAction
{
    /// <summary>Encrypt to the recipient's certificate.</summary>
    Smime,

    /// <summary>Keep the protected content at the gateway; the mail carries a pickup link.</summary>
    Pickup,

    /// <summary>Unchanged, but only over verified TLS; never a plaintext fallback.</summary>
    RequireTls,

    /// <summary>
    /// Unchanged, straight to the recipient domain's MX over TLS that DANE, MTA-STS or PKIX verified
    /// (Direct:*); when it cannot be verified, the rule's <see cref="RoutingRule.Fallback"/> instead.
    /// </summary>
    TlsFirst,

    /// <summary>Unchanged.</summary>
    Relay,

    /// <summary>Not sent; the sender gets a DSN with the rule's message.</summary>
    Reject,

    /// <summary>
    /// Kept back until the sender (the guard's page) or IT (<c>guard release</c>) says to send it, or
    /// cancelled when nobody does within <c>Guard:ConfirmWindow</c>. A released copy is never held
    /// again by its rule: it goes by pickup link.
    /// </summary>
    Hold,
}

/// <summary>One routing rule from configuration. Rules are tried in order; the first whose conditions all hold wins.</summary>
/// <param name="Purpose">Why the disclosure happens, for the HIPAA accounting (164.528 needs the purpose); default Treatment.</param>
public sealed record RoutingRule(string Name, RuleConditions When, RoutingAction Action, string? Message, string Purpose)
{
    /// <summary>When the guard holds a copy this rule decided: that recipient's only (default), or the whole message's.</summary>
    public GuardHoldScope GuardHolds { get; init; } = GuardHoldScope.Recipient;

    /// <summary>A TlsFirst rule's action for copies whose TLS cannot be verified (rule field <c>Fallback</c>; default Pickup).</summary>
    public RoutingAction? Fallback { get; init; }

    /// <summary>What a copy this rule decided becomes when direct delivery cannot take it.</summary>
    public RoutingAction FallbackAction => Fallback ?? RoutingAction.Pickup;

    /// <summary>Actions a TlsFirst rule may fall back to.</summary>
    public static readonly RoutingAction[] FallbackActions = [RoutingAction.Pickup, RoutingAction.Smime, RoutingAction.Reject, RoutingAction.Hold];
}

/// <summary>What a guard hold keeps back (rule field <c>GuardHolds</c>).</summary>
public enum GuardHoldScope
{
    /// <summary>Only the held recipient's copy; the other recipients' copies go on.</summary>
    Recipient,

    /// <summary>Every copy of the message waits with it (for a practice that wants no partial sends).</summary>
    Message,
}

/// <summary>
/// The conditions of a rule; every condition that is set must hold (AND). Lists match when any
/// entry matches. Domains and addresses compare case-insensitively; a domain matches exactly.
/// </summary>
public sealed record RuleConditions
{
    public IReadOnlyList<string>? RecipientDomains { get; init; }
    public IReadOnlyList<string>? RecipientAddresses { get; init; }
    public IReadOnlyList<string>? SenderDomains { get; init; }
    public IReadOnlyList<string>? SenderAddresses { get; init; }
    public bool? HasDentalImage { get; init; }
    public IReadOnlyList<string>? ImageKinds { get; init; }
    public string? SubjectContains { get; init; }
    public bool? RecipientHasCertificate { get; init; }
    public string? Sensitivity { get; init; }

    public static readonly RuleConditions Always = new();
}
