namespace PhiMailGateway.Routing;

/// <summary>The ordered routing rules in force.</summary>
public sealed record RuleSet(IReadOnlyList<RoutingRule> Rules, bool IsBuiltInDefault)
{
    public const string DefaultPurpose = "Treatment";

    /// <summary>
    /// Used when the configuration has no <c>Rules</c>: dental images go out protected (S/MIME
    /// when the recipient has a usable certificate, otherwise pickup), everything else is relayed.
    /// </summary>
    public static readonly RuleSet BuiltInDefault = new(
    [
        new RoutingRule("images-smime", new RuleConditions { HasDentalImage = true, RecipientHasCertificate = true }, RoutingAction.Smime, null, DefaultPurpose),
        new RoutingRule("images-pickup", new RuleConditions { HasDentalImage = true }, RoutingAction.Pickup, null, DefaultPurpose),
        new RoutingRule("everything-else", RuleConditions.Always, RoutingAction.Relay, null, DefaultPurpose),
    ], IsBuiltInDefault: true);

    /// <summary>
    /// Subject tags that trigger rules, stripped from relayed subjects: every <c>SubjectContains</c>
    /// value written as a bracketed tag, such as <c>[secure]</c>. Plain words are left alone.
    /// </summary>
    public IReadOnlyList<string> SubjectTags { get; } = Rules
        .Select(r => r.When.SubjectContains)
        .OfType<string>()
        .Where(s => s.Length > 2 && s[0] == '[' && s[^1] == ']')
        .Distinct(StringComparer.OrdinalIgnoreCase)
        .ToList();
}
