using Microsoft.Extensions.Options;
using MimeKit;
using PhiMailGateway.Audit.HeadNotes;

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

    /// <summary><c>Audit:HeadNotes</c>: copies of the chain's head kept where an attacker on this machine cannot reach them.</summary>
    public AuditHeadNotesOptions HeadNotes { get; init; } = new();
}

/// <summary>
/// Section <c>Audit:HeadNotes</c>. head.log sits beside the database, so whoever can cut the
/// newest records can trim it too; a note shipped elsewhere cannot be taken back. Both targets are
/// off by default.
/// </summary>
public sealed record AuditHeadNotesOptions
{
    public const string Section = "Audit:HeadNotes";

    /// <summary><c>udp://host:port</c> or <c>tcp://host:port</c>: an RFC 5424 syslog receiver (TCP framed by octet counting, RFC 6587).</summary>
    public string? Syslog { get; init; }

    /// <summary>At most one syslog note per interval while the chain advances (plus one at start-up and at shutdown).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The privacy officer's address: gets the current note by mail once per <see cref="MailInterval"/>.</summary>
    public string? MailTo { get; init; }

    public TimeSpan MailInterval { get; init; } = TimeSpan.FromDays(1);

    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MinimumMailInterval = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan MaximumInterval = TimeSpan.FromDays(31);
}

public sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions o)
    {
        var errors = new List<string>();
        if (o.RetentionYears < AuditOptions.MinimumRetentionYears)
            errors.Add($"Audit:RetentionYears: must be at least {AuditOptions.MinimumRetentionYears} (HIPAA keeps the accounting of disclosures six years); got {o.RetentionYears}.");
        var notes = o.HeadNotes;
        if (notes.Syslog is { Length: > 0 } syslog && SyslogTarget.Parse(syslog, out var why) is null)
            errors.Add($"{AuditHeadNotesOptions.Section}:Syslog: '{syslog}' {why}");
        if (notes.Interval < AuditHeadNotesOptions.MinimumInterval || notes.Interval > AuditHeadNotesOptions.MaximumInterval)
            errors.Add($"{AuditHeadNotesOptions.Section}:Interval: must be between {AuditHeadNotesOptions.MinimumInterval} and {AuditHeadNotesOptions.MaximumInterval} (got {notes.Interval}).");
        if (notes.MailTo is { Length: > 0 } mailTo && !IsAddress(mailTo))
            errors.Add($"{AuditHeadNotesOptions.Section}:MailTo: '{mailTo}' is not one email address such as privacy@practice.example.");
        if (notes.MailInterval < AuditHeadNotesOptions.MinimumMailInterval || notes.MailInterval > AuditHeadNotesOptions.MaximumInterval)
            errors.Add($"{AuditHeadNotesOptions.Section}:MailInterval: must be between {AuditHeadNotesOptions.MinimumMailInterval} and {AuditHeadNotesOptions.MaximumInterval} (got {notes.MailInterval}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsAddress(string value) =>
        MailboxAddress.TryParse(value, out var mailbox) && mailbox.Address.IndexOf('@', StringComparison.Ordinal) is > 0 and var at
        && at < mailbox.Address.Length - 1 && mailbox.Address == value.Trim();
}
