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
    /// The built-in default with direct delivery on (<c>Direct:Enabled</c>): dental images to a
    /// recipient without a certificate go straight to the recipient's MX when its TLS verifies, and
    /// take the pickup page when it does not.
    /// </summary>
    public static readonly RuleSet BuiltInDirectDefault = new(
    [
        BuiltInDefault.Rules[0],
        new RoutingRule("images-tls-first", new RuleConditions { HasDentalImage = true }, RoutingAction.TlsFirst, null, DefaultPurpose) { Fallback = RoutingAction.Pickup },
        BuiltInDefault.Rules[2],
    ], IsBuiltInDefault: true);

    public static RuleSet DefaultFor(bool directEnabled) => directEnabled ? BuiltInDirectDefault : BuiltInDefault;

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
