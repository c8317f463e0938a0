using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.ComponentModel;
using SmtpServer.Mail;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>A scripted SMTP reply, e.g. <c>new FakeReply(451, "4.3.0 try later")</c>.</summary>
public sealed record FakeReply(int Code, string Text);

public sealed record FakeSmtpUpstreamOptions
{
    /// <summary>Advertise STARTTLS with the upstream's self-signed certificate. False: plaintext only, no STARTTLS offered.</summary>
    public bool StartTls { get; init; } = true;

    /// <summary>TLS from the first byte (465 style) instead of STARTTLS.</summary>
    public bool ImplicitTls { get; init; }

    /// <summary>When set, AUTH is required (after TLS) and only this user/password passes.</summary>
    public string? RequiredUser { get; init; }
    public string? RequiredPassword { get; init; }

    /// <summary>
    /// Reply per RCPT: (recipient address, how many times this upstream has seen RCPT for it, 1 first) →
    /// a reply to refuse with, or null to accept. Example: <c>(to, n) =&gt; n &lt;= 2 ? new(451, "4.2.0 busy") : null</c>.
    /// </summary>
    public Func<string, int, FakeReply?>? RecipientReply { get; init; }

    /// <summary>Reply after DATA instead of 250 (the message is still recorded in <see cref="FakeSmtpUpstream.Rejected"/>).</summary>
    public FakeReply? DataReply { get; init; }

    /// <summary>Close the connection, without a reply, when MAIL FROM arrives.</summary>
    public bool DropAfterMailFrom { get; init; }

    /// <summary>The address to listen on (a recipient's MX on 127.0.0.2, say); default 127.0.0.1.</summary>
    public IPAddress? Address { get; init; }

    /// <summary>The port to listen on (an MX on <c>Direct:SmtpPort</c>); default a free one.</summary>
    public int Port { get; init; }

    /// <summary>The server certificate, with its key (TestCertificates.CreateServer); default a self-signed one for localhost.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The TLS versions STARTTLS offers; default the platform's.</summary>
    public System.Security.Authentication.SslProtocols? TlsProtocols { get; init; }

    /// <summary>Certificates sent after the leaf in the handshake (intermediates, a DANE-TA anchor).</summary>
    public X509Certificate2[]? CertificateChain { get; init; }

    /// <summary>
    /// Runs for each accepted message just before the 250 goes back: the moment after which the
    /// client must not send it again (e.g. fill the client's disk here).
    /// </summary>
    public Func<ReceivedMessage, Task>? BeforeAccepting { get; init; }
}

/// <param name="Sender">MAIL FROM; empty for the null reverse-path.</param>
/// <param name="Data">The message as the client sent it after DATA: un-dot-stuffed, ending with the CRLF before the final dot.</param>
public sealed record ReceivedMessage(string Sender, IReadOnlyList<string> Recipients, byte[] Data, Guid SessionId, bool Secure, string? User);

/// <summary>
/// A real SMTP server on loopback (SmtpServer library) that records what it receives and answers as
/// scripted. Test kit for relay and end-to-end tests:
/// <code>
/// await using var upstream = await FakeSmtpUpstream.StartAsync(new FakeSmtpUpstreamOptions { RequiredUser = "relay", RequiredPassword = "pw" });
/// // point Relay:Host=127.0.0.1, Relay:Port=upstream.Port, Relay:CertificateThumbprint=upstream.CertificateThumbprintSha256
/// var messages = await upstream.WaitForMessagesAsync(1, TimeSpan.FromSeconds(10));
/// </code>
/// </summary>
public sealed class FakeSmtpUpstream : IAsyncDisposable
{
    private readonly ConcurrentQueue<ReceivedMessage> _messages = new();
    private readonly ConcurrentQueue<ReceivedMessage> _rejected = new();
    private readonly ConcurrentDictionary<string, int> _rcptCounts = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<Guid, ISessionContext> _contexts = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly FakeSmtpUpstreamOptions _options;
    private SmtpServer.SmtpServer? _server;
    private Task? _running;
    private int _sessions;

    private FakeSmtpUpstream(FakeSmtpUpstreamOptions options, X509Certificate2 certificate)
    {
        _options = options;
        Certificate = certificate;
    }

    public int Port { get; private set; }

    /// <summary>The self-signed server certificate (CN=localhost, SAN localhost and 127.0.0.1); not trusted by anyone.</summary>
    public X509Certificate2 Certificate { get; }

    public string CertificateThumbprintSha256 => Certificate.GetCertHashString(HashAlgorithmName.SHA256);
    public string CertificateThumbprintSha1 => Certificate.GetCertHashString(HashAlgorithmName.SHA1);

    /// <summary>Messages accepted with 250, in arrival order (a snapshot).</summary>
    public IReadOnlyList<ReceivedMessage> Messages => _messages.ToArray();

    /// <summary>Messages whose DATA was answered with <see cref="FakeSmtpUpstreamOptions.DataReply"/>.</summary>
    public IReadOnlyList<ReceivedMessage> Rejected => _rejected.ToArray();

    /// <summary>TCP sessions opened so far (one per client connection).</summary>
    public int SessionCount => Volatile.Read(ref _sessions);

    public static async Task<FakeSmtpUpstream> StartAsync(FakeSmtpUpstreamOptions? options = null)
    {
        options ??= new FakeSmtpUpstreamOptions();
        var upstream = new FakeSmtpUpstream(options, options.Certificate ?? CreateCertificate());
        await upstream.StartCoreAsync();
        return upstream;
    }

    /// <summary>Waits until at least <paramref name="count"/> messages were accepted; throws TimeoutException otherwise.</summary>
    public async Task<IReadOnlyList<ReceivedMessage>> WaitForMessagesAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (_messages.Count < count)
        {
            try
            {
                await Task.Delay(10, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Fake upstream received {_messages.Count} of {count} message(s) within {timeout}.");
            }
        }
        return Messages;
    }

    private async Task StartCoreAsync()
    {
        var started = new TaskCompletionSource<IPEndPoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listeners = _options.CertificateChain is { } chain
            ? new ChainPresentingListenerFactory(Certificate, chain)
            : new EndpointListenerFactory();
        listeners.EndpointStarted += (_, e) => started.TrySetResult((IPEndPoint)e.LocalEndPoint);

        var serverOptions = new SmtpServerOptionsBuilder()
            .ServerName("fake-upstream.test")
            .Endpoint(b =>
            {
                b.Endpoint(new IPEndPoint(_options.Address ?? IPAddress.Loopback, _options.Port));
                if (_options.StartTls || _options.ImplicitTls) b.Certificate(Certificate);
                if (_options.ImplicitTls) b.IsSecure(true);
                if (_options.TlsProtocols is { } protocols) b.SupportedSslProtocols(protocols);
                b.AllowUnsecureAuthentication(false);
                b.AuthenticationRequired(_options.RequiredUser is not null);
            })
            .Build();

        var services = new ServiceProvider();
        services.Add(listeners);
        services.Add(new RecordingStore(this));
        services.Add(new ScriptedFilter(this));
        if (_options.RequiredUser is not null)
        {
            services.Add(new DelegatingUserAuthenticator((user, password) =>
                user == _options.RequiredUser && password == _options.RequiredPassword));
        }

        _server = new SmtpServer.SmtpServer(serverOptions, services);
        _server.SessionCreated += (_, e) =>
        {
            Interlocked.Increment(ref _sessions);
            _contexts[e.Context.SessionId] = e.Context;
        };
        _server.SessionCompleted += (_, e) => _contexts.TryRemove(e.Context.SessionId, out ISessionContext? _);
        _running = _server.StartAsync(_stop.Token);

        var endpoint = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Port = endpoint.Port;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _server?.Shutdown();
        if (_running is not null)
        {
            try
            {
                await _running.WaitAsync(TimeSpan.FromSeconds(5));
            }
            catch (Exception)
            {
                // Stopping a test server: cancellation and lingering sessions are expected.
            }
        }
        _stop.Dispose();
        // A certificate the test handed in is the test's to dispose.
        if (_options.Certificate is null) Certificate.Dispose();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        // Round trip through PFX so SslStream gets a certificate with a usable private key on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pfx), null, X509KeyStorageFlags.Exportable);
    }

    private static string Address(IMailbox? mailbox) =>
        mailbox is null || (string.IsNullOrEmpty(mailbox.User) && string.IsNullOrEmpty(mailbox.Host)) ? string.Empty : mailbox.AsAddress();

    /// <summary>
    /// SmtpServer hands over the data already un-dot-stuffed but without the CRLF that precedes the
    /// final dot; that CRLF ends the message's last line, so put it back.
    /// </summary>
    private static byte[] Normalize(ReadOnlySequence<byte> buffer)
    {
        var bytes = buffer.ToArray();
        return bytes.Length > 0 && bytes[^1] == '\n' ? bytes : [.. bytes, (byte)'\r', (byte)'\n'];
    }

    /// <summary>Closes every open session from the server side, as a smarthost does with idle connections.</summary>
    public void DropSessions()
    {
        foreach (var context in _contexts.Values)
        {
            try
            {
                context.Pipe?.Dispose();
            }
            catch (Exception)
            {
                // Already closed.
            }
        }
    }

    private sealed class RecordingStore(FakeSmtpUpstream upstream) : MessageStore
    {
        public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
        {
            var message = new ReceivedMessage(
                Address(transaction.From),
                transaction.To.Select(Address).ToArray(),
                Normalize(buffer),
                context.SessionId,
                context.Pipe?.IsSecure ?? false,
                context.Authentication.IsAuthenticated ? context.Authentication.User : null);
            if (upstream._options.DataReply is { } reply)
            {
                upstream._rejected.Enqueue(message);
                return new SmtpResponse((SmtpReplyCode)reply.Code, reply.Text);
            }
            upstream._messages.Enqueue(message);
            if (upstream._options.BeforeAccepting is { } hook) await hook(message);
            return SmtpResponse.Ok;
        }
    }

    private sealed class ScriptedFilter(FakeSmtpUpstream upstream) : IMailboxFilter
    {
        public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
        {
            if (upstream._options.DropAfterMailFrom)
            {
                context.Pipe.Dispose();
                throw new IOException("Fake upstream drops the connection after MAIL FROM.");
            }
            return Task.FromResult(true);
        }

        public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
        {
            var address = Address(to);
            var attempt = upstream._rcptCounts.AddOrUpdate(address, 1, (_, n) => n + 1);
            if (upstream._options.RecipientReply?.Invoke(address, attempt) is { } reply)
                throw new SmtpResponseException(new SmtpResponse((SmtpReplyCode)reply.Code, reply.Text));
            return Task.FromResult(true);
        }
    }
}
