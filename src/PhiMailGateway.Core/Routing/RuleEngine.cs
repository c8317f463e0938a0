namespace PhiMailGateway.Routing;

/// <summary>
/// Decides, for one recipient, which rule applies: the first whose conditions all hold. It also
/// says why, rule by rule, for IT's dry run and the audit. No rule matching is a decision too
/// (<see cref="RoutingDecision.Rule"/> is null), and the pipeline holds such a message: nothing
/// leaves on a default nobody wrote.
/// </summary>
public sealed class RuleEngine(IRecipientCertificates certificates)
{
    public async Task<RoutingDecision> DecideAsync(RuleSet ruleSet, MessageFacts facts, string recipient, CancellationToken cancellationToken)
    {
        var trace = new List<string>();
        CertificateAvailability? certificate = null;
        foreach (var rule in ruleSet.Rules)
        {
            var miss = await FirstUnmetConditionAsync(rule.When, facts, recipient, async () =>
                certificate ??= await certificates.CheckAsync(recipient, cancellationToken));
            if (miss is null)
            {
                trace.Add($"rule '{rule.Name}': matches -> {rule.Action}");
                return new RoutingDecision(recipient, rule, trace, certificate);
            }
            trace.Add($"rule '{rule.Name}': skipped, {miss}");
        }
        trace.Add("no rule matched");
        return new RoutingDecision(recipient, null, trace, certificate);
    }

    private static async Task<string?> FirstUnmetConditionAsync(RuleConditions when, MessageFacts facts, string recipient, Func<Task<CertificateAvailability>> certificate)
    {
        var address = recipient.ToLowerInvariant();
        var domain = DomainOf(address);
        var sender = facts.Sender.ToLowerInvariant();

        if (when.RecipientDomains is { } rd && !rd.Contains(domain)) return $"recipient domain {domain} is not in RecipientDomains";
        if (when.RecipientAddresses is { } ra && !ra.Contains(address)) return "recipient is not in RecipientAddresses";
        if (when.SenderDomains is { } sd && !sd.Contains(DomainOf(sender))) return $"sender domain {DomainOf(sender)} is not in SenderDomains";
        if (when.SenderAddresses is { } sa && !sa.Contains(sender)) return "sender is not in SenderAddresses";
        if (when.HasDentalImage is { } image && image != facts.HasDentalImage)
            return facts.HasDentalImage ? "message has a dental image" : "message has no dental image";
        if (when.ImageKinds is { } kinds && !kinds.Any(k => facts.ImageKinds.Contains(k, StringComparer.OrdinalIgnoreCase)))
            return $"no image of kind {string.Join("/", kinds)}";
        if (when.SubjectContains is { } text && !facts.Subject.Contains(text, StringComparison.OrdinalIgnoreCase))
            return $"subject does not contain '{text}'";
        if (when.Sensitivity is { } sensitivity && MessageSensitivity.Normalize(sensitivity) != MessageSensitivity.Normalize(facts.Sensitivity))
            return $"sensitivity is {MessageSensitivity.Normalize(facts.Sensitivity)}, not {MessageSensitivity.Normalize(sensitivity)}";
        if (when.RecipientHasCertificate is { } wantsCertificate)
        {
            var available = await certificate();
            if (available.Usable != wantsCertificate)
                return available.Usable ? "recipient has a usable certificate" : $"recipient has no usable certificate{(available.Reason is null ? "" : $" ({available.Reason})")}";
        }
        return null;
    }

    private static string DomainOf(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? "" : address[(at + 1)..];
    }
}

/// <param name="Rule">The rule that matched, or null when none did.</param>
/// <param name="Trace">One line per rule tried, for the dry run; may name the recipient's domain, never patient data.</param>
/// <param name="Certificate">The certificate check, when a rule asked for it; its reason goes to the audit as a fallback.</param>
public sealed record RoutingDecision(string Recipient, RoutingRule? Rule, IReadOnlyList<string> Trace, CertificateAvailability? Certificate)
{
    /// <summary>What the recipient's copy gets: the rule's action, or its fallback once TLS-first cannot take the copy (<see cref="FellBack"/>).</summary>
    public RoutingAction? Action { get; init; } = Rule?.Action;

    /// <summary>Why this TlsFirst decision took its rule's fallback; null when it did not.</summary>
    public string? FellBackBecause { get; init; }

    /// <summary>The decision with the rule's fallback in place of TlsFirst; any other decision as it is.</summary>
    public RoutingDecision FallingBack(string because) =>
        Action == RoutingAction.TlsFirst ? this with { Action = Rule!.FallbackAction, FellBackBecause = because } : this;

    /// <summary>
    /// The decision for a copy the sender or IT released: a Hold becomes Pickup, so a released copy
    /// is never held again by the rule that held it (nor sent without protection).
    /// </summary>
    public RoutingDecision Released() => Action == RoutingAction.Hold ? this with { Action = RoutingAction.Pickup } : this;
}
