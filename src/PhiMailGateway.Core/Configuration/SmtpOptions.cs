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

    /// <summary>Failed AUTH attempts for one user name from one client address before that pair is locked out.</summary>
    public int MaxAuthFailures { get; init; } = 5;

    /// <summary>How long a lockout lasts, and the window in which failures are counted.</summary>
    public TimeSpan AuthLockout { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Pause after each failed AUTH, so guessing is slow even before the lockout starts.</summary>
    public TimeSpan AuthFailureDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a user's password, once checked against its slow hash, is remembered in memory so the
    /// next AUTH with the same password skips the hash (Outlook logs in again for every send). Zero:
    /// every AUTH runs the hash.
    /// </summary>
    public TimeSpan AuthCacheLifetime { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary>Idle time before the server drops a session.</summary>
    public TimeSpan SessionTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Sessions served at once across all ports. At the limit a new client still gets its greeting:
    /// the longest-idle session that has neither authenticated nor come from a trusted network is
    /// closed with 421 to make room (invariant 8), so strangers cannot keep the office out.
    /// </summary>
    public int MaxSessions { get; init; } = 100;

    /// <summary>
    /// Sessions at once from one client address that have not authenticated and are not from
    /// <see cref="TrustedNetworks"/>. Well below <see cref="MaxSessions"/>, so one address cannot take
    /// every slot; an Outlook holds such a session only for the moment before its AUTH.
    /// </summary>
    public int MaxSessionsPerAddress { get; init; } = 10;

    /// <summary>Time allowed for a TLS handshake (implicit-TLS port and after STARTTLS).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Idle time between commands for a session that has not authenticated and is not trusted;
    /// authenticated and trusted sessions get <see cref="SessionTimeout"/>.
    /// </summary>
    public TimeSpan UnauthenticatedTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>RCPT commands accepted per message; beyond it 452 (RFC 5321 4.5.3.1.10: the client sends the rest later).</summary>
    public int MaxRecipients { get; init; } = 1000;

    /// <summary>
    /// Longest physical header line (bytes, without CRLF). RFC 5322 says 998; Outlook and Exchange
    /// fold long References and Received headers at 78, so 64 KiB is never hit by real mail but
    /// keeps a single header line from being a memory or parser problem further on.
    /// </summary>
    public int MaxHeaderLineBytes { get; init; } = 65_536;

    /// <summary>Header fields per message; a long-forwarded Exchange message carries a few hundred.</summary>
    public int MaxHeaderFields { get; init; } = 1000;

    /// <summary>
    /// Failed AUTH attempts for one user name from all addresses together before that user is locked
    /// (the same ceiling applies to one client address across all user names). The lower
    /// <see cref="MaxAuthFailures"/> counts per (client address, user name), so an Outlook with a
    /// stale password locks out only itself.
    /// </summary>
    public int MaxAuthFailuresPerUser { get; init; } = 50;
}
