using Microsoft.Extensions.Configuration;

namespace PhiMailGateway.Routing;

/// <summary>
/// Reads the <c>Rules</c> section by hand rather than with the binder, because the binder silently
/// ignores a misspelt condition, and a rule that quietly matches everything is how an X-ray leaves
/// in the clear. Every error names the rule (index and name) and the field.
/// </summary>
public static class RuleSetParser
{
    public const string Section = "Rules";

    private static readonly string[] RuleKeys = ["Name", "When", "Action", "Fallback", "Message", "Purpose", "GuardHolds"];
    private static readonly string[] ConditionKeys =
    [
        "RecipientDomains", "RecipientAddresses", "SenderDomains", "SenderAddresses", "HasDentalImage",
        "ImageKinds", "SubjectContains", "RecipientHasCertificate", "Sensitivity",
    ];

    /// <param name="builtInDefault">The rules when the configuration has none (<see cref="RuleSet.DefaultFor"/>).</param>
    public static RuleSetParseResult Parse(IConfiguration configuration, IReadOnlyCollection<string> knownImageKinds, RuleSet? builtInDefault = null)
    {
        var section = configuration.GetSection(Section);
        var children = section.GetChildren().ToList();
        if (children.Count == 0) return new RuleSetParseResult(builtInDefault ?? RuleSet.BuiltInDefault, []);

        var errors = new List<string>();
        if (!children.All(c => int.TryParse(c.Key, out _)))
        {
            errors.Add("Rules: must be a list of rules ([ { \"Name\": ..., \"Action\": ... }, ... ]).");
            return new RuleSetParseResult(null, errors);
        }

        var rules = new List<RoutingRule>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var child in children.OrderBy(c => int.Parse(c.Key, System.Globalization.CultureInfo.InvariantCulture)))
        {
            var name = child["Name"];
            var where = $"Rules:{child.Key}" + (string.IsNullOrWhiteSpace(name) ? "" : $" ({name})");
            var ruleErrors = new List<string>();

            foreach (var key in child.GetChildren().Select(c => c.Key).Where(k => !RuleKeys.Contains(k, StringComparer.OrdinalIgnoreCase)))
                ruleErrors.Add($"{where}: unknown field '{key}' (fields: {string.Join(", ", RuleKeys)}).");

            if (string.IsNullOrWhiteSpace(name)) ruleErrors.Add($"{where}: Name is required.");
            else if (!names.Add(name)) ruleErrors.Add($"{where}: Name '{name}' is used by an earlier rule.");

            var actionText = child["Action"];
            RoutingAction action = default;
            if (string.IsNullOrWhiteSpace(actionText))
                ruleErrors.Add($"{where}: Action is required ({string.Join(", ", Enum.GetNames<RoutingAction>())}).");
            else if (!Enum.TryParse(actionText, ignoreCase: true, out action) || int.TryParse(actionText, out _))
                ruleErrors.Add($"{where}: Action '{actionText}' is not one of {string.Join(", ", Enum.GetNames<RoutingAction>())}.");

            var conditions = ParseConditions(child.GetSection("When"), where, knownImageKinds, ruleErrors);
            var purpose = child["Purpose"];
            if (purpose is not null && string.IsNullOrWhiteSpace(purpose)) ruleErrors.Add($"{where}: Purpose must not be empty when given.");

            var scopeText = child["GuardHolds"];
            var scope = GuardHoldScope.Recipient;
            if (scopeText is not null && (!Enum.TryParse(scopeText, ignoreCase: true, out scope) || int.TryParse(scopeText, out _)))
                ruleErrors.Add($"{where}: GuardHolds '{scopeText}' is not one of {string.Join(", ", Enum.GetNames<GuardHoldScope>())}.");

            var fallback = ParseFallback(child["Fallback"], action, where, ruleErrors);

            errors.AddRange(ruleErrors);
            if (ruleErrors.Count == 0)
                rules.Add(new RoutingRule(name!, conditions, action, child["Message"], purpose ?? RuleSet.DefaultPurpose) { GuardHolds = scope, Fallback = fallback });
        }
        return errors.Count > 0 ? new RuleSetParseResult(null, errors) : new RuleSetParseResult(new RuleSet(rules, false), []);
    }

    /// <summary>
    /// Only a TlsFirst rule has a fallback, and it is an action that protects or refuses: never
    /// Relay. An empty value says nothing (an override that blanks the shipped rule's fallback).
    /// </summary>
    private static RoutingAction? ParseFallback(string? text, RoutingAction action, string where, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        var allowed = string.Join(", ", RoutingRule.FallbackActions);
        if (action != RoutingAction.TlsFirst)
        {
            errors.Add($"{where}: Fallback is only for Action TlsFirst.");
            return null;
        }
        if (!Enum.TryParse<RoutingAction>(text, ignoreCase: true, out var fallback) || int.TryParse(text, out _) || !RoutingRule.FallbackActions.Contains(fallback))
        {
            errors.Add($"{where}: Fallback '{text}' is not one of {allowed}.");
            return null;
        }
        return fallback;
    }

    private static RuleConditions ParseConditions(IConfigurationSection when, string where, IReadOnlyCollection<string> knownImageKinds, List<string> errors)
    {
        if (!when.Exists()) return RuleConditions.Always;
        if (when.Value is not null && when.Value.Length > 0)
        {
            errors.Add($"{where}: When must be an object of conditions.");
            return RuleConditions.Always;
        }
        foreach (var key in when.GetChildren().Select(c => c.Key).Where(k => !ConditionKeys.Contains(k, StringComparer.OrdinalIgnoreCase)))
            errors.Add($"{where}: unknown condition When.{key} (conditions: {string.Join(", ", ConditionKeys)}).");

        var kinds = List(when, "ImageKinds", where, errors);
        foreach (var kind in kinds ?? [])
        {
            if (!knownImageKinds.Contains(kind, StringComparer.OrdinalIgnoreCase))
                errors.Add($"{where}: When.ImageKinds '{kind}' is not an image kind ({string.Join(", ", knownImageKinds)}).");
        }

        var subject = Text(when, "SubjectContains", where, errors);
        var sensitivity = Text(when, "Sensitivity", where, errors);
        if (sensitivity is not null && !MessageSensitivity.IsKnown(sensitivity))
            errors.Add($"{where}: When.Sensitivity '{sensitivity}' is not one of {string.Join(", ", MessageSensitivity.Names)}.");

        return new RuleConditions
        {
            RecipientDomains = Lower(List(when, "RecipientDomains", where, errors)),
            RecipientAddresses = Lower(List(when, "RecipientAddresses", where, errors)),
            SenderDomains = Lower(List(when, "SenderDomains", where, errors)),
            SenderAddresses = Lower(List(when, "SenderAddresses", where, errors)),
            HasDentalImage = Bool(when, "HasDentalImage", where, errors),
            ImageKinds = kinds,
            SubjectContains = subject,
            RecipientHasCertificate = Bool(when, "RecipientHasCertificate", where, errors),
            Sensitivity = sensitivity,
        };
    }

    private static IReadOnlyList<string>? List(IConfigurationSection when, string key, string where, List<string> errors)
    {
        var section = when.GetSection(key);
        if (!section.Exists()) return null;
        var values = section.Value is { } single ? [single] : section.GetChildren().Select(c => c.Value).ToList();
        if (values.Count == 0 || values.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{where}: When.{key} must be a non-empty list of non-empty strings.");
            return null;
        }
        return values.Select(v => v!.Trim()).ToList();
    }

    private static string? Text(IConfigurationSection when, string key, string where, List<string> errors)
    {
        var section = when.GetSection(key);
        if (!section.Exists()) return null;
        if (string.IsNullOrWhiteSpace(section.Value))
        {
            errors.Add($"{where}: When.{key} must be a non-empty string.");
            return null;
        }
        return section.Value;
    }

    private static bool? Bool(IConfigurationSection when, string key, string where, List<string> errors)
    {
        var section = when.GetSection(key);
        if (!section.Exists()) return null;
        if (bool.TryParse(section.Value, out var value)) return value;
        errors.Add($"{where}: When.{key} must be true or false (got '{section.Value}').");
        return null;
    }

    private static IReadOnlyList<string>? Lower(IReadOnlyList<string>? values) => values?.Select(v => v.ToLowerInvariant()).ToList();
}

public sealed record RuleSetParseResult(RuleSet? RuleSet, IReadOnlyList<string> Errors);

/// <summary>
/// Outlook's Sensitivity header (RFC 2156): Personal, Private, Company-Confidential. Outlook's
/// user interface calls the last one "Confidential", so rules may say either.
/// </summary>
public static class MessageSensitivity
{
    public static readonly string[] Names = ["Normal", "Personal", "Private", "Confidential", "Company-Confidential"];

    public static bool IsKnown(string value) => Names.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase);

    public static string Normalize(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => "normal",
        "confidential" => "company-confidential",
        var v => v,
    };
}
