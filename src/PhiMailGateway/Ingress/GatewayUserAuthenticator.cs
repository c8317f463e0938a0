using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Users;
using SmtpServer;
using SmtpServer.Authentication;

namespace PhiMailGateway.Ingress;

/// <summary>
/// AUTH PLAIN/LOGIN against <see cref="IUserDirectory"/>, with brute-force protection: failures are
/// counted per client address and per user name; a locked-out address or name is refused without
/// checking the password, so guessing cannot continue while locked. Each failure also waits
/// Smtp:AuthFailureDelay. A success clears the counters of that address and name.
/// SmtpServer answers 535 for every false.
/// </summary>
public sealed partial class GatewayUserAuthenticator(
    IUserDirectory users,
    AuthFailureTracker failures,
    SmtpOptions smtp,
    ILogger<GatewayUserAuthenticator> logger) : IUserAuthenticator
{
    public async Task<bool> AuthenticateAsync(ISessionContext context, string user, string password, CancellationToken cancellationToken)
    {
        var client = SessionFacts.ClientAddress(context)?.ToString() ?? "unknown";
        var clientKey = "ip:" + client;
        var userKey = "user:" + (user ?? "").Trim().ToLowerInvariant();

        if (failures.IsLockedOut(clientKey) || failures.IsLockedOut(userKey))
        {
            LogLockedOut(logger, context.SessionId, client);
            return false;
        }

        bool ok;
        try
        {
            ok = !string.IsNullOrEmpty(user) && !string.IsNullOrEmpty(password)
                 && await users.VerifyAsync(user, password, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A broken user store must not become a 554 and close the session; it is a failed AUTH.
            LogDirectoryError(logger, context.SessionId, e.GetType().Name);
            return false;
        }

        if (ok)
        {
            failures.Reset(clientKey);
            failures.Reset(userKey);
            LogSucceeded(logger, context.SessionId);
            LogSucceededUser(logger, context.SessionId, user!);
            return true;
        }

        var lockedClient = failures.RecordFailure(clientKey);
        var lockedUser = failures.RecordFailure(userKey);
        LogFailed(logger, context.SessionId);
        if (lockedClient || lockedUser) LogLockoutStarted(logger, client, smtp.MaxAuthFailures, smtp.AuthLockout);
        if (smtp.AuthFailureDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(smtp.AuthFailureDelay, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The session is going away; the answer no longer matters.
            }
        }
        return false;
    }

    [LoggerMessage(EventId = 1030, Level = LogLevel.Information, Message = "Session {SessionId}: AUTH succeeded")]
    private static partial void LogSucceeded(ILogger logger, Guid sessionId);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Debug, Message = "Session {SessionId}: AUTH succeeded for {UserName}")]
    private static partial void LogSucceededUser(ILogger logger, Guid sessionId, string userName);

    [LoggerMessage(EventId = 1032, Level = LogLevel.Information, Message = "Session {SessionId}: AUTH failed (535)")]
    private static partial void LogFailed(ILogger logger, Guid sessionId);

    [LoggerMessage(EventId = 1033, Level = LogLevel.Warning, Message = "AUTH lockout started for client {ClientAddress} or its user name after {MaxFailures} failures; lasts {Lockout}")]
    private static partial void LogLockoutStarted(ILogger logger, string clientAddress, int maxFailures, TimeSpan lockout);

    [LoggerMessage(EventId = 1034, Level = LogLevel.Warning, Message = "Session {SessionId}: AUTH refused without checking: client {ClientAddress} or user name is locked out")]
    private static partial void LogLockedOut(ILogger logger, Guid sessionId, string clientAddress);

    [LoggerMessage(EventId = 1035, Level = LogLevel.Error, Message = "Session {SessionId}: user directory failed ({ErrorType}); AUTH answered 535")]
    private static partial void LogDirectoryError(ILogger logger, Guid sessionId, string errorType);
}
