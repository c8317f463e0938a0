using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using MimeKit;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Relay;

/// <summary>
/// Relay mode <c>Smtp</c>: hands mail to the practice's smarthost with MailKit.
/// <list type="bullet">
/// <item>TLS is required unless Relay:Security is None (StartTls never falls back to plaintext), and a
/// RequireTls delivery is never sent over Security=None: it is deferred with a reason.</item>
/// <item>The certificate must chain to a trusted root and match the host, or, when
/// Relay:CertificateThumbprint is set, be exactly the pinned certificate (nothing else).</item>
/// <item>Per recipient: RCPT 4xx defers that recipient, 5xx fails it; MAIL FROM or DATA 4xx/5xx defers or
/// fails every recipient still pending; connection, TLS, authentication trouble and timeouts defer
/// every pending recipient with code 0. Unknown exceptions defer too (fail closed).</item>
/// <item>Up to Relay:Concurrency connections, kept open and reused; a reused connection found dead is
/// replaced once, as long as the smarthost had not yet accepted MAIL FROM.</item>
/// </list>
/// The content is parsed with MimeKit and written back unchanged, byte for byte, when the smarthost
/// offers 8BITMIME (every current MTA does). Two deliberate exceptions, both MailKit's: Bcc/Resent-Bcc
/// headers are not transmitted, and a part that cannot travel as it is (8-bit data to a server
/// without 8BITMIME, lines over 998 octets) is re-encoded as SMTP requires.
/// </summary>
public sealed class SmarthostRelay : IRelayTransport, IAsyncDisposable
{
    private readonly RelayOptions _options;
    private readonly string _localDomain;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _slots;
    private readonly ConcurrentQueue<RecordingSmtpClient> _idle = new();
    private readonly CertificatePin? _pin;
    private int _disposed;

    public SmarthostRelay(RelayOptions options, GatewayOptions gateway, ILogger<SmarthostRelay>? logger = null)
    {
        if (string.IsNullOrWhiteSpace(options.Host))
            throw new ArgumentException("Relay:Host is required for the smarthost relay.", nameof(options));
        _options = options;
        _localDomain = gateway.HostName;
        _logger = logger ?? NullLogger<SmarthostRelay>.Instance;
        _slots = new SemaphoreSlim(Math.Max(1, options.Concurrency));
        _pin = CertificatePin.Parse(options.CertificateThumbprint);
    }

    public async Task<IReadOnlyList<RecipientOutcome>> SendAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (request.Recipients.Count == 0) return [];

        if (request.RequireTls && _options.Security == RelaySecurity.None)
        {
            RelayLog.RequireTlsWithoutTls(_logger, request.DeliveryId, request.Recipients.Count);
            return DeferAll(request, "RequireTls: this message may only travel over verified TLS, and Relay:Security is None; not sent.");
        }

        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await SendInSlotAsync(request, cancellationToken);
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<IReadOnlyList<RecipientOutcome>> SendInSlotAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        Stream content;
        MimeMessage message;
        MailboxAddress sender;
        List<MailboxAddress> recipients;
        try
        {
            content = request.OpenContent();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            RelayLog.ContentUnreadable(_logger, request.DeliveryId, e.GetType().Name, request.Recipients.Count);
            return DeferAll(request, $"Content could not be opened: {e.GetType().Name}.");
        }

        await using var contentScope = content;
        try
        {
            message = await RawMessage.LoadForRelayAsync(content, cancellationToken);
            sender = new MailboxAddress(string.Empty, request.Sender ?? string.Empty);
            recipients = request.Recipients.Select(r => new MailboxAddress(string.Empty, r)).ToList();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            RelayLog.ContentUnreadable(_logger, request.DeliveryId, e.GetType().Name, request.Recipients.Count);
            return DeferAll(request, $"Content or envelope could not be parsed: {e.GetType().Name}.");
        }

        using (message)
        {
            var bytes = content.CanSeek ? content.Length : -1;
            var outcomes = await TransmitAsync(request, message, sender, recipients, cancellationToken);
            RelayLog.SmarthostAttempt(_logger, request.DeliveryId,
                outcomes.Count(o => o.Status == RecipientStatus.Delivered),
                outcomes.Count(o => o.Status == RecipientStatus.Deferred),
                outcomes.Count(o => o.Status == RecipientStatus.Failed),
                bytes);
            return outcomes;
        }
    }

    private async Task<IReadOnlyList<RecipientOutcome>> TransmitAsync(RelayRequest request, MimeMessage message, MailboxAddress sender, List<MailboxAddress> recipients, CancellationToken cancellationToken)
    {
        var client = TakeIdle();
        var reused = client is not null;
        while (true)
        {
            try
            {
                client ??= await ConnectAsync(cancellationToken);
                if (request.RequireTls && !client.IsEncrypted)
                {
                    // Cannot happen with StartTls/SslOnConnect; checked anyway because the rule is absolute.
                    Return(client);
                    return DeferAll(request, "RequireTls: the smarthost connection is not encrypted; not sent.");
                }

                client.BeginTransaction();
                var response = await client.SendAsync(message, sender, recipients, cancellationToken);
                var outcomes = SmtpReplies.Collect(_logger, request, request.Recipients, recipients, client,
                    accepted => new RecipientOutcome(accepted, RecipientStatus.Delivered, 250, "250 " + SmtpReplies.OneLine(response)));
                Return(client);
                return outcomes;
            }
            catch (SmtpCommandException e) when (client is not null)
            {
                if (reused && !client.SenderAccepted && e.StatusCode == SmtpStatusCode.ServiceNotAvailable)
                {
                    // 421 on a pooled connection: the smarthost timed the idle session out.
                    RelayLog.PooledConnectionDead(_logger, request.DeliveryId, "421");
                    Discard(client);
                    client = null;
                    reused = false;
                    continue;
                }
                var outcomes = SmtpReplies.ForCommandFailure(_logger, request, request.Recipients, recipients, client, e);
                if (outcomes is null)
                {
                    RelayLog.ConnectionTrouble(_logger, request.DeliveryId, _options.Host ?? "", _options.Port, SmarthostFailure.Describe(e), e.ErrorCode.ToString(), request.Recipients.Count);
                    outcomes = DeferAll(request, $"{(int)e.StatusCode} {SmtpReplies.OneLine(e.Message)}", (int)e.StatusCode);
                }
                Return(client);
                return outcomes;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                Discard(client);
                throw;
            }
            catch (Exception e)
            {
                var senderAccepted = client?.SenderAccepted ?? false;
                var partial = client?.Refused;
                Discard(client);
                client = null;
                if (reused && !senderAccepted)
                {
                    // A pooled connection the smarthost closed while idle: nothing was accepted, so one
                    // fresh connection may safely carry the same transaction.
                    RelayLog.PooledConnectionDead(_logger, request.DeliveryId, e.GetType().Name);
                    reused = false;
                    continue;
                }

                RelayLog.ConnectionTrouble(_logger, request.DeliveryId, _options.Host ?? "", _options.Port, SmarthostFailure.Describe(e), e.GetType().Name, request.Recipients.Count);
                RelayLog.ConnectionTroubleDetail(_logger, request.DeliveryId, e.GetType().Name, e.Message);
                var reason = Describe(e);
                return recipients.Select((mailbox, i) =>
                    senderAccepted && partial is not null && partial.TryGetValue(mailbox, out var refused)
                        ? SmtpReplies.Refusal(request.Recipients[i], refused)
                        : new RecipientOutcome(request.Recipients[i], RecipientStatus.Deferred, 0, reason)).ToArray();
            }
        }
    }

    private async Task<RecordingSmtpClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new RecordingSmtpClient
        {
            Timeout = (int)Math.Clamp(_options.Timeout.TotalMilliseconds, 1, int.MaxValue),
            LocalDomain = _localDomain,
            ServerCertificateValidationCallback = ValidateCertificate,
        };
        try
        {
            var security = _options.Security switch
            {
                RelaySecurity.StartTls => SecureSocketOptions.StartTls,          // TLS required; never StartTlsWhenAvailable
                RelaySecurity.SslOnConnect => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.None,
            };
            await client.ConnectAsync(_options.Host!, _options.Port, security, cancellationToken);
            if (!string.IsNullOrEmpty(_options.Username))
                await client.AuthenticateAsync(_options.Username, _options.Password ?? string.Empty, cancellationToken);
            RelayLog.ConnectionOpened(_logger, _options.Port, _options.Security.ToString(), client.IsEncrypted, client.IsAuthenticated);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_pin is null)
        {
            if (errors == SslPolicyErrors.None) return true;
            RelayLog.CertificateRejected(_logger, $"chain or name validation failed ({errors})");
            return false;
        }
        if (certificate is not null && _pin.Matches(certificate)) return true;
        RelayLog.CertificateRejected(_logger, "certificate does not match Relay:CertificateThumbprint");
        return false;
    }

    private RecordingSmtpClient? TakeIdle()
    {
        while (_idle.TryDequeue(out var client))
        {
            if (client.IsConnected) return client;
            client.Dispose();
        }
        return null;
    }

    private void Return(RecordingSmtpClient client)
    {
        if (Volatile.Read(ref _disposed) == 0 && client.IsConnected)
        {
            _idle.Enqueue(client);
            // Disposal may have drained the pool between the check and the enqueue.
            if (Volatile.Read(ref _disposed) != 0 && _idle.TryDequeue(out var late)) late.Dispose();
            return;
        }
        client.Dispose();
    }

    private static void Discard(RecordingSmtpClient? client)
    {
        if (client is null) return;
        try
        {
            client.Dispose();
        }
        catch (Exception)
        {
            // Disposing a broken connection must not hide the outcome.
        }
    }

    private static IReadOnlyList<RecipientOutcome> DeferAll(RelayRequest request, string reason, int code = 0) =>
        request.Recipients.Select(r => new RecipientOutcome(r, RecipientStatus.Deferred, code, reason)).ToArray();

    private static string Describe(Exception e) => e switch
    {
        SslHandshakeException => "TLS handshake with the smarthost failed (certificate not trusted or not the pinned one, or no common protocol).",
        AuthenticationException => "The smarthost refused our credentials.",
        SmtpCommandException command => $"The smarthost refused the session: {(int)command.StatusCode} {SmtpReplies.OneLine(command.Message)}",
        NotSupportedException => "The smarthost does not offer what Relay:Security requires (e.g. STARTTLS); nothing was sent in plaintext.",
        OperationCanceledException or TimeoutException => "Timed out talking to the smarthost.",
        SmtpProtocolException or IOException or System.Net.Sockets.SocketException => $"Connection to the smarthost failed or dropped ({e.GetType().Name}).",
        _ => $"Delivery attempt failed ({e.GetType().Name}).",
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        while (_idle.TryDequeue(out var client))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.DisconnectAsync(quit: true, timeout.Token);
            }
            catch (Exception)
            {
                // Best effort QUIT; the socket closes either way.
            }
            client.Dispose();
        }
    }
}

/// <summary>
/// Relay:CertificateThumbprint: SHA-256 (64 hex) or SHA-1 (40 hex) of the smarthost's certificate,
/// colons and case ignored. When set it replaces chain validation: exactly that certificate, nothing else.
/// </summary>
internal sealed class CertificatePin
{
    private readonly byte[] _expected;

    private CertificatePin(byte[] expected) => _expected = expected;

    public static CertificatePin? Parse(string? thumbprint)
    {
        if (string.IsNullOrWhiteSpace(thumbprint)) return null;
        var hex = thumbprint.Replace(":", string.Empty, StringComparison.Ordinal).Replace(" ", string.Empty, StringComparison.Ordinal).Trim();
        if (hex.Length is not (40 or 64) || !hex.All(Uri.IsHexDigit))
            throw new ArgumentException("Relay:CertificateThumbprint must be a SHA-1 (40) or SHA-256 (64) hex thumbprint.", nameof(thumbprint));
        return new CertificatePin(Convert.FromHexString(hex));
    }

    public bool Matches(X509Certificate certificate)
    {
        var raw = certificate.GetRawCertData();
#pragma warning disable CA5350 // SHA-1 identifies a certificate the operator pinned; no signature relies on it.
        var actual = _expected.Length == 32 ? SHA256.HashData(raw) : SHA1.HashData(raw);
#pragma warning restore CA5350
        return CryptographicOperations.FixedTimeEquals(actual, _expected);
    }
}
