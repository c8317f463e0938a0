namespace PhiMailGateway.Configuration;

/// <summary>Section <c>Smtp</c>: the submission listener that practice mail clients talk to.</summary>
public sealed record SmtpOptions
{
    public const string Section = "Smtp";

    public string Address { get; init; } = "127.0.0.1";
    public int Port { get; init; } = 2525;

    /// <summary>Optional 465-style port with TLS from the first byte.</summary>
    public int? ImplicitTlsPort { get; init; }

    /// <summary>PFX for STARTTLS; when absent a self-signed one is generated once into the data directory.</summary>
    public string? CertificatePath { get; init; }
    public string? CertificatePassword { get; init; }

    /// <summary>Relay needs AUTH unless the client is in <see cref="TrustedNetworks"/>.</summary>
    public bool RequireAuthentication { get; init; } = true;

    /// <summary>CIDR blocks (IPv4 or IPv6) allowed to relay without AUTH.</summary>
    public string[] TrustedNetworks { get; init; } = [];

    /// <summary>Advertised in SIZE and enforced while DATA streams in, declared or not.</summary>
    public long MaxMessageBytes { get; init; } = 52_428_800;

    /// <summary>Failed AUTH attempts from one client address before it is locked out.</summary>
    public int MaxAuthFailures { get; init; } = 5;

    /// <summary>How long a client address stays locked out after too many failed AUTH attempts.</summary>
    public TimeSpan AuthLockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Pause after each failed AUTH, so guessing is slow even before the lockout starts.</summary>
    public TimeSpan AuthFailureDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Idle time before the server drops a session.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Sessions served at once across all ports; further clients wait in the kernel's accept queue.
    /// Bounds memory: the SMTP library buffers a command line or a message in memory per session.
    /// </summary>
    public int MaxSessions { get; init; } = 100;
}
