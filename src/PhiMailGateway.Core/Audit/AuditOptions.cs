using Microsoft.Extensions.Options;

namespace PhiMailGateway.Audit;

/// <summary>Section <c>Audit</c>: the disclosure log.</summary>
public sealed record AuditOptions
{
    public const string Section = "Audit";

    /// <summary>HIPAA 164.316(b)(2) and 164.528 documentation must be kept six years.</summary>
    public const int MinimumRetentionYears = 6;

    /// <summary>
    /// How long disclosure records are kept. The gateway never deletes audit records at all (the
    /// tables refuse DELETE), so this is a floor that configuration cannot lower, not a timer.
    /// </summary>
    public int RetentionYears { get; init; } = MinimumRetentionYears;
}

public sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions o) =>
        o.RetentionYears < AuditOptions.MinimumRetentionYears
            ? ValidateOptionsResult.Fail(
                $"Audit:RetentionYears: must be at least {AuditOptions.MinimumRetentionYears} (HIPAA keeps the accounting of disclosures six years); got {o.RetentionYears}.")
            : ValidateOptionsResult.Success;
}
