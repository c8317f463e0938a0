using System.Net;
using System.Security.Authentication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using PhiMailGateway.Configuration;
using SmtpServer;
using SmtpServer.Authentication;
using SmtpServer.Protocol;
using SmtpServer.Storage;
using SmtpServerHost = SmtpServer.SmtpServer;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The SMTP listener practice mail clients submit to. Port Smtp:Port speaks plain SMTP with STARTTLS;
/// AUTH PLAIN/LOGIN is offered only once the session is under TLS, so a password never crosses the
/// wire in clear. Smtp:ImplicitTlsPort, when set, is TLS from the first byte (465 style).
/// DATA is capped by Smtp:MaxMessageBytes whether or not the client declared SIZE (Strict handling).
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
    IOptions<HostOptions> hostOptions,
    ILogger<SmtpIngressService> logger) : IHostedService, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<IPEndPoint> _bound = [];
    private readonly Lock _lock = new();
    private DrainingListenerFactory? _listeners;
    private Task? _running;
    private int _activeSessions;

    /// <summary>The endpoints actually listening, in configuration order (plain first, then implicit TLS).</summary>
    public IReadOnlyList<IPEndPoint> BoundEndpoints
    {
        get { lock (_lock) return [.. _bound]; }
    }

    /// <summary>Sessions currently open; tests wait for zero instead of sleeping.</summary>
    public int ActiveSessions => Volatile.Read(ref _activeSessions);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var certificate = certificates.GetCertificate();
        var address = IPAddress.Parse(smtp.Address);
        const SslProtocols protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

        var builder = new SmtpServerOptionsBuilder()
            .ServerName(gateway.HostName)
            // The library's default greeting names its own version; ours says no more than needed.
            .CustomSmtpGreeting(_ => $"220 {gateway.HostName} ESMTP ready")
            .MaxMessageSize((int)smtp.MaxMessageBytes, MaxMessageSizeHandling.Strict)
            .CommandWaitTimeout(smtp.SessionTimeout)
            .Endpoint(e => e
                .Endpoint(new IPEndPoint(address, smtp.Port))
                .IsSecure(false)
                .Certificate(certificate)
                .SupportedSslProtocols(protocols)
                .AllowUnsecureAuthentication(false)
                .AuthenticationRequired(false) // RelayPermissionFilter decides, so trusted networks can relay without AUTH.
                .SessionTimeout(smtp.SessionTimeout));
        if (smtp.ImplicitTlsPort is { } tlsPort)
        {
            builder.Endpoint(e => e
                .Endpoint(new IPEndPoint(address, tlsPort))
                .IsSecure(true)
                .Certificate(certificate)
                .SupportedSslProtocols(protocols)
                .AllowUnsecureAuthentication(false)
                .AuthenticationRequired(false)
                .SessionTimeout(smtp.SessionTimeout));
        }
        var options = builder.Build();
        var expected = options.Endpoints.Count;

        var allBound = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var listeners = new DrainingListenerFactory(smtp.MaxSessions);
        listeners.EndpointStarted += (_, e) =>
        {
            lock (_lock)
            {
                if (e.LocalEndPoint is IPEndPoint ip) _bound.Add(ip);
                if (_bound.Count == expected) allBound.TrySetResult();
            }
            LogListening(logger, e.LocalEndPoint?.ToString() ?? "?", e.EndpointDefinition.IsSecure);
        };

        var services = new SmtpServer.ComponentModel.ServiceProvider();
        services.Add(listeners);
        services.Add((IMessageStore)store);
        services.Add((IMailboxFilter)filter);
        services.Add((IUserAuthenticator)authenticator);

        var server = new SmtpServerHost(options, services);
        server.SessionCreated += OnSessionCreated;
        server.SessionCompleted += (_, e) => OnSessionEnded(e, "completed");
        server.SessionCancelled += (_, e) => OnSessionEnded(e, "cancelled");
        server.SessionFaulted += (_, e) =>
        {
            LogSessionFaulted(logger, e.Context.SessionId, e.Exception.GetType().Name);
            OnSessionEnded(e, "faulted");
        };
        _listeners = listeners;
        _running = server.StartAsync(_stopping.Token);

        // Fail start-up loudly (port taken, address not local) instead of running without a listener.
        using var startTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        startTimeout.CancelAfter(TimeSpan.FromSeconds(30));
        var first = await Task.WhenAny(allBound.Task, _running, Task.Delay(Timeout.Infinite, startTimeout.Token));
        if (first == _running)
        {
            await _running; // rethrows the bind error
            throw new InvalidOperationException("The SMTP listener stopped during start-up.");
        }
        if (first != allBound.Task)
        {
            await _stopping.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
            throw new InvalidOperationException($"The SMTP listener did not bind {smtp.Address}:{smtp.Port} within 30 seconds.");
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_listeners is null || _running is null) return;
        LogStopping(logger, ActiveSessions);
        _listeners.StopAccepting();

        // Let the sessions in flight finish (a client in DATA gets its 250) for up to the host's
        // shutdown timeout; only then cancel the rest. Their messages were never acknowledged, so
        // their clients keep them and retry: nothing is lost (invariant 1).
        var deadline = DateTime.UtcNow + hostOptions.Value.ShutdownTimeout;
        try
        {
            while (ActiveSessions > 0 && DateTime.UtcNow < deadline)
                await Task.Delay(25, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The host's own shutdown timeout fired first.
        }
        if (ActiveSessions > 0) LogSessionsAbandoned(logger, ActiveSessions);

        await _stopping.CancelAsync();
        try
        {
            await _running.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            // Cancelled on purpose.
        }
        LogStopped(logger);
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnSessionCreated(object? sender, SessionEventArgs e)
    {
        var count = Interlocked.Increment(ref _activeSessions);
        LogSessionStarted(logger, e.Context.SessionId, count);
        // SmtpServer 11 keeps the EHLO name to itself; remember it for the Received header.
        e.Context.CommandExecuting += (_, c) =>
        {
            switch (c.Command)
            {
                case EhloCommand ehlo:
                    c.Context.Properties[SessionFacts.HeloNameKey] = ehlo.DomainOrAddress;
                    break;
                case HeloCommand helo:
                    c.Context.Properties[SessionFacts.HeloNameKey] = helo.DomainOrAddress;
                    break;
            }
        };
    }

    private void OnSessionEnded(SessionEventArgs e, string how)
    {
        var count = Interlocked.Decrement(ref _activeSessions);
        LogSessionEnded(logger, e.Context.SessionId, how, count);
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "SMTP listening on {EndPoint} (implicit TLS: {ImplicitTls})")]
    private static partial void LogListening(ILogger logger, string endPoint, bool implicitTls);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Debug, Message = "Session {SessionId} started; {ActiveSessions} open")]
    private static partial void LogSessionStarted(ILogger logger, Guid sessionId, int activeSessions);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug, Message = "Session {SessionId} {How}; {ActiveSessions} open")]
    private static partial void LogSessionEnded(ILogger logger, Guid sessionId, string how, int activeSessions);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Session {SessionId} faulted ({ErrorType})")]
    private static partial void LogSessionFaulted(ILogger logger, Guid sessionId, string errorType);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information, Message = "SMTP listener stopping; waiting for {ActiveSessions} open sessions")]
    private static partial void LogStopping(ILogger logger, int activeSessions);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning, Message = "Shutdown timeout: cancelling {ActiveSessions} open sessions (nothing they sent was acknowledged)")]
    private static partial void LogSessionsAbandoned(ILogger logger, int activeSessions);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information, Message = "SMTP listener stopped")]
    private static partial void LogStopped(ILogger logger);
}
