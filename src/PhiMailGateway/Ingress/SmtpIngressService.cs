using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The SMTP listener practice mail clients submit to. Port Smtp:Port speaks plain SMTP with STARTTLS;
/// AUTH PLAIN/LOGIN is offered only once the session is under TLS, so a password never crosses the
/// wire in clear. Smtp:ImplicitTlsPort, when set, is TLS from the first byte (465 style).
/// <para>
/// The accept loop never waits for a free slot: every connection is accepted at once (TCP_NODELAY
/// set, so pipelined replies are not held back by Nagle and delayed ACKs) and handed to its own
/// <see cref="SmtpSession"/>; <see cref="SessionRegistry"/> decides whether it is served, so idle
/// strangers cannot keep a new client from its greeting (invariant 8).
/// </para>
/// On stop, the listener stops accepting first, then waits for the sessions in flight up to the
/// host's shutdown timeout, then cancels what is left (their messages were not acknowledged, so the
/// clients will send them again).
/// </summary>
public sealed partial class SmtpIngressService(
    SmtpOptions smtp,
    GatewayOptions gateway,
    TlsCertificateProvider certificates,
    SpoolMessageStore store,
    RelayPermissionFilter filter,
    GatewayUserAuthenticator authenticator,
    TrustedNetworks trusted,
    IOptions<HostOptions> hostOptions,
    ILogger<SmtpIngressService> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly List<IPEndPoint> _bound = [];
    private readonly List<TcpListener> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly Lock _lock = new();
    private SmtpSessionServices? _services;
    private int _activeSessions;

    /// <summary>The endpoints actually listening, in configuration order (plain first, then implicit TLS).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints
    {
        get { lock (_lock) return [.. _bound]; }
    }

    /// <summary>Sessions currently open; tests wait for zero instead of sleeping.</summary>
    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    /// <summary>Sessions the registry admitted and has not let go: never more than Smtp:MaxSessions (an evicted one leaves at once, while its 421 and close may still run).</summary>
    internal int AdmittedSessions => _services?.Registry.Count ?? 0;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var certificate = certificates.GetCertificate();
        await authenticator.RestoreLockoutsAsync(cancellationToken);
        _services = new SmtpSessionServices(
            smtp, gateway.HostName, filter, authenticator, store, TlsPolicy.Create(certificate),
            new SessionRegistry(smtp.MaxSessions, smtp.MaxSessionsPerAddress), trusted, logger);

        var address = IPAddress.Parse(smtp.Address);
        var endpoints = new List<(IPEndPoint EndPoint, bool ImplicitTls)> { (new IPEndPoint(address, smtp.Port), false) };
        if (smtp.ImplicitTlsPort is { } tlsPort) endpoints.Add((new IPEndPoint(address, tlsPort), true));
        try
        {
            foreach (var (endPoint, implicitTls) in endpoints)
            {
                // Fail start-up loudly (port taken, address not local) instead of running without a listener.
                var listener = new TcpListener(endPoint);
                listener.Start(backlog: 512);
                var bound = (IPEndPoint)listener.LocalEndpoint;
                lock (_lock)
                {
                    _listeners.Add(listener);
                    _bound.Add(bound);
                }
                LogListening(logger, bound.ToString(), implicitTls);
            }
        }
        catch
        {
            foreach (var listener in _listeners) listener.Stop();
            throw;
        }
        for (var i = 0; i < _listeners.Count; i++)
        {
            var listener = _listeners[i];
            var implicitTls = endpoints[i].ImplicitTls;
            _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(listener, implicitTls), CancellationToken.None));
        }
    }

    private async Task AcceptLoopAsync(TcpListener listener, bool implicitTls)
    {
        var token = _stopAccepting.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(token);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException e)
            {
                // A connection reset before we took it, or out of descriptors for a moment: keep listening.
                LogAcceptFailed(logger, e.SocketErrorCode.ToString());
                continue;
            }
            socket.NoDelay = true;
            _ = RunSessionAsync(socket, implicitTls);
        }
    }

    private async Task RunSessionAsync(Socket socket, bool implicitTls)
    {
        var count = Interlocked.Increment(ref _activeSessions);
        Guid sessionId = Guid.Empty;
        try
        {
            var session = new SmtpSession(_services!, socket, implicitTls, _stopping.Token);
            sessionId = session.SessionId;
            LogSessionStarted(logger, sessionId, count);
            await session.RunAsync();
        }
        catch (Exception e)
        {
            // RunAsync catches everything itself; this is the last guard so that no session can take the listener down.
            LogSessionFaulted(logger, sessionId, e.GetType().Name);
            socket.Dispose();
        }
        finally
        {
            var left = Interlocked.Decrement(ref _activeSessions);
            LogSessionEnded(logger, sessionId, left);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_services is null) return;
        LogStopping(logger, ActiveSessions);
        await _stopAccepting.CancelAsync();
        lock (_lock)
        {
            foreach (var listener in _listeners) listener.Stop();
            // GET /health reads this: a stopped listener is not healthy, even while the web page still answers.
            _bound.Clear();
        }
        await Task.WhenAll(_acceptLoops);

        // Let the sessions in flight finish (a client in DATA gets its 250) for up to the host's
        // shutdown timeout; only then cancel the rest. Their messages were never acknowledged, so
        // their clients keep them and retry: nothing is lost (invariant 1).
        await WaitForSessionsAsync(hostOptions.Value.ShutdownTimeout, cancellationToken);
        if (ActiveSessions > 0) LogSessionsAbandoned(logger, ActiveSessions);
        await _stopping.CancelAsync();
        await WaitForSessionsAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        LogStopped(logger);
    }

    private async Task WaitForSessionsAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        try
        {
            while (ActiveSessions > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(25, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's own shutdown timeout fired first.
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        _stopAccepting.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "SMTP listening on {EndPoint} (implicit TLS: {ImplicitTls})")]
    private static partial void LogListening(ILogger logger, string endPoint, bool implicitTls);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session {SessionId} started; {ActiveSessions} open")]
    private static partial void LogSessionStarted(ILogger logger, Guid sessionId, int activeSessions);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Debug, Message = "Session {SessionId} ended; {ActiveSessions} open")]
    private static partial void LogSessionEnded(ILogger logger, Guid sessionId, int activeSessions);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Error, Message = "Session {SessionId} escaped its own error handling ({ErrorType})")]
    private static partial void LogSessionFaulted(ILogger logger, Guid sessionId, string errorType);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Accepting a connection failed ({SocketError}); still listening")]
    private static partial void LogAcceptFailed(ILogger logger, string socketError);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "SMTP listener stopping; waiting for {ActiveSessions} open sessions")]
    private static partial void LogStopping(ILogger logger, int activeSessions);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Shutdown timeout: cancelling {ActiveSessions} open sessions (nothing they sent was acknowledged)")]
    private static partial void LogSessionsAbandoned(ILogger logger, int activeSessions);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "SMTP listener stopped")]
    private static partial void LogStopped(ILogger logger);
}
