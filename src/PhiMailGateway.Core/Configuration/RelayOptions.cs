namespace PhiMailGateway.Configuration;

public enum RelayMode
{
    /// <summary>Write .eml files into an outbox folder (the embedded default).</summary>
    Directory,

    /// <summary>Hand mail to the practice's smarthost with MailKit.</summary>
    Smtp,
}

public enum RelaySecurity
{
    StartTls,
    SslOnConnect,
    None,
}

/// <summary>Section <c>Relay</c>: how mail leaves the gateway.</summary>
public sealed record RelayOptions
{
    public const string Section = "Relay";

    public RelayMode Mode { get; init; } = RelayMode.Directory;

    public string? Host { get; init; }
    public int Port { get; init; } = 587;

    /// <summary>StartTls by default: TLS is required and the certificate validated. There is no "when available".</summary>
    public RelaySecurity Security { get; init; } = RelaySecurity.StartTls;

    /// <summary>Optional SHA-256 (or SHA-1) thumbprint of an internal smarthost's certificate; when set, it replaces chain validation.</summary>
    public string? CertificateThumbprint { get; init; }

    /// <summary>Smarthost credentials: set these from the environment (Relay__Password), never in a file.</summary>
    public string? Username { get; init; }
    public string? Password { get; init; }

    /// <summary>Defaults to <c>&lt;data&gt;/outbox</c>.</summary>
    public string? OutboxDirectory { get; init; }

    /// <summary>Comma-separated backoff steps (TimeSpan); the last step repeats.</summary>
    public string RetrySchedule { get; init; } = "00:01:00,00:05:00,00:15:00,01:00:00";

    /// <summary>After this long in the queue a message bounces.</summary>
    public TimeSpan MaxQueueLifetime { get; init; } = TimeSpan.FromDays(5);

    /// <summary>Deliveries attempted at the same time.</summary>
    public int Concurrency { get; init; } = 8;

    /// <summary>Per-command timeout towards the smarthost.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The parsed <see cref="RetrySchedule"/>; validation guarantees it parses.</summary>
    public IReadOnlyList<TimeSpan> RetrySteps => ParseRetrySchedule(RetrySchedule) ?? [];

    public static IReadOnlyList<TimeSpan>? ParseRetrySchedule(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        var steps = new List<TimeSpan>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TimeSpan.TryParse(part, System.Globalization.CultureInfo.InvariantCulture, out var step) || step <= TimeSpan.Zero)
                return null;
            steps.Add(step);
        }
        return steps.Count == 0 ? null : steps;
    }
}
