using Microsoft.Extensions.Options;

namespace PhiMailGateway.Guard;

/// <summary>What a guard check does when it fires.</summary>
public enum GuardAction
{
    /// <summary>The check is not run.</summary>
    Off,

    /// <summary>Noted in the audit and the sender's receipt; the copy goes as its rule says, undelayed.</summary>
    Flag,

    /// <summary>The copy waits until the sender (or IT) confirms it.</summary>
    Hold,
}

/// <summary>When the sender gets a receipt of how each copy went.</summary>
public enum GuardReceipts
{
    /// <summary>Only when a copy was held or flagged.</summary>
    Attention,
    Always,
    Off,
}

/// <summary>
/// Section <c>Guard</c>: the misdirection checks for recipients of a message with dental images,
/// each one <see cref="GuardAction.Hold"/>, <see cref="GuardAction.Flag"/> or <see cref="GuardAction.Off"/>.
/// </summary>
public sealed record GuardOptions
{
    public const string Section = "Guard";

    /// <summary>The recipient's domain or address looks like a known one without being it.</summary>
    public GuardAction Lookalike { get; init; } = GuardAction.Hold;

    /// <summary>No dental image has gone to this address before.</summary>
    public GuardAction NewRecipient { get; init; } = GuardAction.Flag;

    /// <summary>The images' patient went to other addresses before, never to this one.</summary>
    public GuardAction NewPatientRecipient { get; init; } = GuardAction.Flag;

    /// <summary>Known partners and public webmail in one message, or more than <see cref="MaxRecipients"/> recipients.</summary>
    public GuardAction MixedAudience { get; init; } = GuardAction.Flag;

    /// <summary>Domains that count as known from the first message (besides <c>Gateway:Domains</c> and the audit's history).</summary>
    public string[] KnownDomains { get; init; } = [];

    /// <summary>Public webmail domains: patients' own addresses, never a practice's.</summary>
    public string[] WebmailDomains { get; init; } = DefaultWebmailDomains;

    public int MaxRecipients { get; init; } = 5;

    /// <summary>How long a held copy waits for the sender; then it is cancelled and the sender told.</summary>
    public TimeSpan ConfirmWindow { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How long every copy with images waits before it leaves, so it can be recalled.</summary>
    public TimeSpan SendDelay { get; init; } = TimeSpan.Zero;

    public GuardReceipts Receipts { get; init; } = GuardReceipts.Attention;

    public static readonly string[] DefaultWebmailDomains =
    [
        "gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
        "aol.com", "icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "mail.com",
        "zoho.com", "yandex.com", "comcast.net", "att.net", "verizon.net",
    ];
}

public sealed class GuardOptionsValidator : IValidateOptions<GuardOptions>
{
    public ValidateOptionsResult Validate(string? name, GuardOptions o)
    {
        var errors = new List<string>();
        if (o.MaxRecipients is < 1 or > 10000) errors.Add($"Guard:MaxRecipients: must be between 1 and 10000 (got {o.MaxRecipients}).");
        if (o.ConfirmWindow <= TimeSpan.Zero || o.ConfirmWindow > TimeSpan.FromDays(30))
            errors.Add($"Guard:ConfirmWindow: must be more than zero and at most 30 days (got {o.ConfirmWindow}).");
        if (o.SendDelay < TimeSpan.Zero || o.SendDelay > TimeSpan.FromHours(24))
            errors.Add($"Guard:SendDelay: must be between 00:00:00 and 1.00:00:00 (got {o.SendDelay}).");
        Domains("Guard:KnownDomains", o.KnownDomains, errors);
        Domains("Guard:WebmailDomains", o.WebmailDomains, errors);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Domains(string key, string[] domains, List<string> errors)
    {
        for (var i = 0; i < domains.Length; i++)
        {
            if (GuardAddress.NormalizeDomain(domains[i]) is null)
                errors.Add($"{key}:{i}: '{domains[i]}' is not a domain name (write it without @, e.g. specialist.example).");
        }
    }
}
