using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using MimeKit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Direct;

/// <summary>
/// Delivers <c>TlsFirst</c> copies straight to the recipient domain's MX, and only over TLS it
/// verified: DANE when the MX, its addresses and its TLSA records are all DNSSEC-secure; else the
/// domain's MTA-STS policy in enforce mode (the MX must match it, its certificate must be
/// PKIX-valid for its name); else PKIX for the MX name when <c>Direct:AcceptPkix</c>. MX hosts are tried in preference order; one whose
/// certificate does not verify (a TLSA mismatch included) is not used, never retried without TLS.
/// The outcome per recipient: the MX's reply, as with the smarthost; <see cref="RecipientStatus.Fallback"/>
/// when no MX could be verified (no STARTTLS, a certificate that fails, a domain in
/// <c>Direct:TlsPreventDomains</c>); <see cref="RecipientStatus.Deferred"/> while lookups fail or no MX
/// answers, and Fallback once that has gone on for <c>Direct:FallbackAfter</c>.
/// </summary>
public sealed partial class DirectTransport : IRelayTransport
{
    private readonly DirectOptions _options;
    private readonly DnsLookup _dns;
    private readonly MxCertificateCheck _certificates;
    private readonly MtaStsPolicies _policies;
    private readonly string _heloName;
    private readonly TimeProvider _time;
    private readonly ILogger<DirectTransport> _logger;
    private readonly DkimSigning _dkim;

    public DirectTransport(DirectOptions options, GatewayOptions gateway, DnsLookup dns, MxCertificateCheck certificates, MtaStsPolicies policies,
        TimeProvider time, ILogger<DirectTransport> logger)
    {
        _options = options;
        _dns = dns;
        _certificates = certificates;
        _policies = policies;
        _heloName = string.IsNullOrWhiteSpace(options.HeloName) ? gateway.HostName : options.HeloName.Trim();
        _time = time;
        _logger = logger;
        _dkim = DkimSigning.Create(options, logger);
    }

    public async Task<IReadOnlyList<RecipientOutcome>> SendAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        var outcomes = new List<RecipientOutcome>(request.Recipients.Count);
        // The TlsFirst protector makes one copy per recipient domain; any other grouping is split here.
        foreach (var domain in request.Recipients.GroupBy(RecipientDomain.Of, StringComparer.OrdinalIgnoreCase))
            outcomes.AddRange(await SendToDomainAsync(request, domain.Key, domain.ToList(), dryRun: false, cancellationToken));
        return FallBackWhenFailingTooLong(request, outcomes);
    }

    /// <summary>
    /// `rules test`: the same lookups and TLS handshakes as a delivery, per recipient domain, ending
    /// with QUIT where a delivery would send: Delivered (with the method) means "would go directly".
    /// </summary>
    public async Task<IReadOnlyList<RecipientOutcome>> DryRunAsync(IReadOnlyList<string> recipients, CancellationToken cancellationToken)
    {
        var request = new RelayRequest("dry-run", "", recipients, () => Stream.Null, RequireTls: false);
        var outcomes = new List<RecipientOutcome>(recipients.Count);
        foreach (var domain in recipients.GroupBy(RecipientDomain.Of, StringComparer.OrdinalIgnoreCase))
            outcomes.AddRange(await SendToDomainAsync(request, domain.Key, domain.ToList(), dryRun: true, cancellationToken));
        return outcomes;
    }

    private async Task<IReadOnlyList<RecipientOutcome>> SendToDomainAsync(RelayRequest request, string domain, IReadOnlyList<string> recipients, bool dryRun,
        CancellationToken cancellationToken)
    {
        if (_options.IsTlsPrevented(domain))
            return All(recipients, RecipientStatus.Fallback, 0, "the domain is in Direct:TlsPreventDomains");

        var mx = await _dns.MxAsync(domain, cancellationToken);
        IReadOnlyList<MxHost> hosts;
        switch (mx.Status)
        {
            case DnsStatus.NoSuchName:
                return All(recipients, RecipientStatus.Failed, 550, "5.1.2 the recipient's domain does not exist");
            case DnsStatus.Failed:
                LogLookupFailed(_logger, request.DeliveryId, "MX");
                return All(recipients, RecipientStatus.Deferred, 0, "the MX lookup failed; trying again later");
            case DnsStatus.NoRecords:
                // RFC 5321 5.1: no MX, the domain itself is the one host.
                hosts = [new MxHost(domain, 0)];
                break;
            default:
                if (mx.Records.Count == 1 && mx.Records[0].Name is "" or ".")
                    return All(recipients, RecipientStatus.Failed, 556, "5.1.10 the recipient's domain accepts no mail (null MX)");
                hosts = mx.Records.Where(r => r.Name is not ("" or ".")).OrderBy(r => r.Preference).ToList();
                break;
        }

        var unverified = new List<string>();
        var trouble = new List<string>();
        // Asked once per copy, and only when an MX has no DANE (RFC 8461 2: DANE comes first).
        Task<MtaStsPolicy?>? policy = null;
        Task<MtaStsPolicy?> Policy() => policy ??= _policies.GetAsync(domain, cancellationToken);
        foreach (var host in hosts)
        {
            var addresses = await _dns.AddressesAsync(host.Name, cancellationToken);
            if (addresses.Status != DnsStatus.Found)
            {
                trouble.Add($"{host.Name}: {(addresses.Status == DnsStatus.Failed ? "address lookup failed" : "no address")}");
                continue;
            }
            var requirement = await RequirementAsync(host.Name, mx.Authenticated && addresses.Authenticated, Policy, cancellationToken);
            if (requirement.Failure is { } cannot)
            {
                (requirement.Temporary ? trouble : unverified).Add($"{host.Name}: {cannot}");
                continue;
            }
            foreach (var address in addresses.Records)
            {
                var attempt = await TryMxAsync(request, recipients, host.Name, address, requirement, dryRun, cancellationToken);
                if (attempt.Outcomes is { } sent) return sent;
                if (attempt.Unverified is { } why)
                {
                    unverified.Add($"{host.Name}: {why}");
                    // The same host behind another address presents the same certificate.
                    break;
                }
                trouble.Add($"{host.Name}: {attempt.Trouble}");
            }
        }

        if (unverified.Count > 0)
        {
            LogUnverified(_logger, request.DeliveryId, recipients.Count, unverified.Count);
            return All(recipients, RecipientStatus.Fallback, 0, "no MX with verified TLS: " + string.Join("; ", unverified));
        }
        LogNoMxAnswered(_logger, request.DeliveryId, recipients.Count, trouble.Count);
        return All(recipients, RecipientStatus.Deferred, 0, "no MX could be reached: " + string.Join("; ", trouble));
    }

    /// <summary>
    /// What the MX host's certificate must pass: DANE when its TLSA records are secure and usable;
    /// else the enforced MTA-STS policy (an MX it does not list is not used); else PKIX if allowed.
    /// </summary>
    private async Task<Requirement> RequirementAsync(string host, bool secure, Func<Task<MtaStsPolicy?>> policy, CancellationToken cancellationToken)
    {
        if (secure)
        {
            var tlsa = await _dns.TlsaAsync(host, _options.SmtpPort, cancellationToken);
            // RFC 7672 2.2: a secure MX whose TLSA lookup fails must not be used (an attacker could
            // be suppressing the records); try it again later.
            if (tlsa.Status == DnsStatus.Failed) return Requirement.Cannot("TLSA lookup failed", temporary: true);
            var usable = tlsa.Authenticated ? tlsa.Records.Where(MxCertificateCheck.Usable).ToList() : [];
            if (usable.Count > 0) return new Requirement(TlsVerification.Dane, usable, null, false);
        }
        if (await policy() is { Mode: MtaStsMode.Enforce } enforced)
        {
            return enforced.Allows(host)
                ? new Requirement(TlsVerification.MtaSts, [], null, false)
                : Requirement.Cannot("not an mx of the domain's MTA-STS policy (enforce)", temporary: false);
        }
        return _options.AcceptPkix
            ? new Requirement(TlsVerification.Pkix, [], null, false)
            : Requirement.Cannot("no DNSSEC-secure TLSA records, and Direct:AcceptPkix is false", temporary: false);
    }

    private async Task<MxAttempt> TryMxAsync(RelayRequest request, IReadOnlyList<string> recipients, string host, IPAddress address, Requirement requirement,
        bool dryRun, CancellationToken cancellationToken)
    {
        var check = new ConnectionCheck(this, host, requirement);
        using var client = new RecordingSmtpClient
        {
            Timeout = (int)Math.Clamp(_options.Timeout.TotalMilliseconds, 1, int.MaxValue),
            LocalDomain = _heloName,
            SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            CheckCertificateRevocation = false,
            ServerCertificateValidationCallback = check.Validate,
        };
        try
        {
            var socket = await ConnectSocketAsync(address, cancellationToken);
            // The socket is the address; the name is the MX's, for SNI and the certificate's name.
            await client.ConnectAsync(socket, host, _options.SmtpPort, SecureSocketOptions.StartTls, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (NotSupportedException)
        {
            return MxAttempt.NotVerified("offers no STARTTLS");
        }
        catch (SslHandshakeException)
        {
            return MxAttempt.NotVerified(check.Failure ?? "the TLS handshake failed (TLS 1.2 or later is required)");
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or OperationCanceledException or SmtpProtocolException or SmtpCommandException)
        {
            return MxAttempt.Failed(e is SmtpCommandException refused ? $"refused the session ({(int)refused.StatusCode})" : $"unreachable ({e.GetType().Name})");
        }

        var method = $"DirectTls({Name(requirement.Verification)}) mx={host} tls={client.SslProtocol} cert=sha256:{check.Fingerprint}";
        var outcomes = dryRun
            ? All(recipients, RecipientStatus.Delivered, 0, "verified; nothing sent (dry run)").Select(o => o with { Method = method }).ToList()
            : await TransmitAsync(request, recipients, client, method, cancellationToken);
        LogDelivered(_logger, request.DeliveryId, Name(requirement.Verification), client.SslProtocol.ToString(),
            outcomes.Count(o => o.Status == RecipientStatus.Delivered), outcomes.Count(o => o.Status == RecipientStatus.Deferred), outcomes.Count(o => o.Status == RecipientStatus.Failed));
        LogDeliveredDetail(_logger, request.DeliveryId, host, address.ToString());
        try
        {
            await client.DisconnectAsync(quit: true, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The outcome is known; a QUIT that fails changes nothing.
        }
        return new MxAttempt(outcomes, null, null);
    }

    private async Task<IReadOnlyList<RecipientOutcome>> TransmitAsync(RelayRequest request, IReadOnlyList<string> recipients, RecordingSmtpClient client, string method,
        CancellationToken cancellationToken)
    {
        var mailboxes = recipients.Select(r => new MailboxAddress(string.Empty, r)).ToList();
        await using var content = request.OpenContent();
        using var message = await RawMessage.LoadForRelayAsync(content, cancellationToken);
        _dkim.Sign(message, request.Sender, client.Capabilities, request.DeliveryId);
        client.BeginTransaction();
        try
        {
            var response = await client.SendAsync(message, new MailboxAddress(string.Empty, request.Sender ?? string.Empty), mailboxes, cancellationToken);
            return SmtpReplies.Collect(_logger, request, recipients, mailboxes, client,
                accepted => new RecipientOutcome(accepted, RecipientStatus.Delivered, 250, "250 " + SmtpReplies.OneLine(response), method));
        }
        catch (SmtpCommandException e)
        {
            return SmtpReplies.ForCommandFailure(_logger, request, recipients, mailboxes, client, e)
                   ?? All(recipients, RecipientStatus.Deferred, (int)e.StatusCode, $"{(int)e.StatusCode} {SmtpReplies.OneLine(e.Message)}");
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Dropped mid-transaction: recipients the MX already refused keep that reply, the rest wait.
            var partial = client.SenderAccepted ? client.Refused : [];
            return recipients.Select((r, i) => partial.TryGetValue(mailboxes[i], out var refused)
                ? SmtpReplies.Refusal(r, refused)
                : new RecipientOutcome(r, RecipientStatus.Deferred, 0, $"the connection to the MX failed or dropped ({e.GetType().Name})")).ToList();
        }
    }

    private async Task<Socket> ConnectSocketAsync(IPAddress address, CancellationToken cancellationToken)
    {
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            await socket.ConnectAsync(new IPEndPoint(address, _options.SmtpPort), timeout.Token);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Copies that kept failing for <c>Direct:FallbackAfter</c> stop waiting for their MX and take the fallback.</summary>
    private IReadOnlyList<RecipientOutcome> FallBackWhenFailingTooLong(RelayRequest request, List<RecipientOutcome> outcomes)
    {
        if (request.QueuedAt is not { } queuedAt || _time.GetUtcNow() - queuedAt < _options.FallbackAfter) return outcomes;
        return outcomes.Select(o => o.Status == RecipientStatus.Deferred
            ? o with { Status = RecipientStatus.Fallback, Response = $"direct delivery kept failing since {queuedAt:u}: {o.Response}" }
            : o).ToList();
    }

    private static List<RecipientOutcome> All(IEnumerable<string> recipients, RecipientStatus status, int code, string reason) =>
        recipients.Select(r => new RecipientOutcome(r, status, code, reason)).ToList();

    private static string Name(TlsVerification verification) => verification switch
    {
        TlsVerification.Dane => "dane",
        TlsVerification.MtaSts => "mta-sts",
        _ => "pkix",
    };

    /// <summary>What one MX host's certificate must pass; <see cref="Failure"/> when it cannot be verified at all.</summary>
    private sealed record Requirement(TlsVerification Verification, IReadOnlyList<Tlsa> Tlsa, string? Failure, bool Temporary)
    {
        public static Requirement Cannot(string why, bool temporary) => new(TlsVerification.Pkix, [], why, temporary);
    }

    /// <summary>One connection's attempt: the outcomes once it sent, or why the MX was not verified, or what kept it from answering.</summary>
    private sealed record MxAttempt(IReadOnlyList<RecipientOutcome>? Outcomes, string? Unverified, string? Trouble)
    {
        public static MxAttempt NotVerified(string why) => new(null, why, null);

        public static MxAttempt Failed(string why) => new(null, null, why);
    }

    /// <summary>The certificate check of one connection, run in the TLS handshake; remembers why it failed and what it accepted.</summary>
    private sealed class ConnectionCheck(DirectTransport transport, string host, Requirement requirement)
    {
        public string? Failure { get; private set; }

        public string Fingerprint { get; private set; } = "";

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, System.Net.Security.SslPolicyErrors errors)
        {
            if (certificate is null)
            {
                Failure = "presented no certificate";
                return false;
            }
            var (leaf, presented) = MxCertificateCheck.Presented(certificate, chain);
            var verdict = requirement.Verification == TlsVerification.Dane
                ? transport._certificates.Dane(leaf, presented, requirement.Tlsa, host)
                : transport._certificates.Pkix(leaf, presented, host);
            if (!verdict.IsValid)
            {
                Failure = verdict.Failure;
                LogCertificateRejected(transport._logger, Name(requirement.Verification), verdict.Failure!);
                return false;
            }
            Fingerprint = Convert.ToHexStringLower(SHA256.HashData(leaf.RawData));
            return true;
        }
    }

    // Ids 4300-4349. Counts and methods only at Information: MX host names name the recipient's domain.
    [LoggerMessage(EventId = 4300, Level = LogLevel.Information, Message = "Delivery {DeliveryId}: direct over TLS verified by {Method} ({Protocol}): {Delivered} delivered, {Deferred} deferred, {Failed} failed")]
    private static partial void LogDelivered(ILogger logger, string deliveryId, string method, string protocol, int delivered, int deferred, int failed);

    [LoggerMessage(EventId = 4301, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: sent to MX {Host} at {Address}")]
    private static partial void LogDeliveredDetail(ILogger logger, string deliveryId, string host, string address);

    [LoggerMessage(EventId = 4302, Level = LogLevel.Information, Message = "Delivery {DeliveryId}: no MX with verified TLS ({Hosts} tried); {RecipientCount} recipient(s) take the fallback")]
    private static partial void LogUnverified(ILogger logger, string deliveryId, int recipientCount, int hosts);

    [LoggerMessage(EventId = 4303, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: no MX could be reached ({Attempts} attempts); {RecipientCount} recipient(s) deferred")]
    private static partial void LogNoMxAnswered(ILogger logger, string deliveryId, int recipientCount, int attempts);

    [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: DNS {RecordType} lookup failed; deferred")]
    private static partial void LogLookupFailed(ILogger logger, string deliveryId, string recordType);

    [LoggerMessage(EventId = 4305, Level = LogLevel.Information, Message = "MX certificate rejected ({Method}): {Reason}")]
    private static partial void LogCertificateRejected(ILogger logger, string method, string reason);
}
