namespace PhiMailGateway.Routing;

/// <summary>
/// Routing's output: the decision for each envelope recipient (each address once, case-insensitive,
/// in envelope order), and the subject tags of the rules in force, which every outbound copy loses.
/// </summary>
public sealed class RoutingPlan
{
    public RoutingPlan(IEnumerable<RoutingDecision> decisions, IReadOnlyList<string> subjectTags)
    {
        var byRecipient = new Dictionary<string, RoutingDecision>(StringComparer.OrdinalIgnoreCase);
        foreach (var decision in decisions)
        {
            if (decision.Rule is null) throw new ArgumentException($"A plan holds only decided recipients.", nameof(decisions));
            if (!byRecipient.TryAdd(decision.Recipient, decision))
                throw new ArgumentException("A plan decides each recipient once.", nameof(decisions));
        }
        Decisions = byRecipient;
        SubjectTags = subjectTags;
        Rejections = byRecipient.Values.Where(d => d.Action == RoutingAction.Reject)
            .Select(d => new Rejection(d.Recipient, d.Rule!.Message ?? (d.FellBackBecause is { } because
                ? $"Not sent: the recipient's mail server could not be reached over verified encryption ({because}; rule {d.Rule.Name})."
                : $"Refused by the practice's mail policy (rule {d.Rule.Name})."), d.Rule.Name))
            .ToList();
    }

    /// <summary>Every recipient's decision; each has a rule (an undecided recipient holds the message instead).</summary>
    public IReadOnlyDictionary<string, RoutingDecision> Decisions { get; }

    /// <summary>Subject tags of the rules in force (such as <c>[secure]</c>), stripped from every outbound copy.</summary>
    public IReadOnlyList<string> SubjectTags { get; }

    /// <summary>Recipients a Reject rule refused, with the rule's message; the sender gets a DSN for them.</summary>
    public IReadOnlyList<Rejection> Rejections { get; }

    /// <summary>The same plan with every TlsFirst decision taking its rule's fallback (direct delivery could not take those copies).</summary>
    public RoutingPlan FallingBack(string because) => new(Decisions.Values.Select(d => d.FallingBack(because)), SubjectTags);

    /// <summary>The same plan for a released copy: Hold decisions become Pickup (<see cref="RoutingDecision.Released"/>).</summary>
    public RoutingPlan Released() => new(Decisions.Values.Select(d => d.Released()), SubjectTags);

    /// <summary>The same plan for some of its recipients only (those the guard did not hold, or the one it released).</summary>
    public RoutingPlan Only(IEnumerable<string> recipients)
    {
        var keep = recipients.ToHashSet(StringComparer.OrdinalIgnoreCase);
        return new RoutingPlan(Decisions.Values.Where(d => keep.Contains(d.Recipient)), SubjectTags);
    }
}

/// <param name="Message">What the sender's DSN says (the rule's <c>Message</c>).</param>
public sealed record Rejection(string Recipient, string Message, string RuleName);
