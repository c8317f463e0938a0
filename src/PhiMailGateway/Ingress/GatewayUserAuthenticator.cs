using System.Globalization;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Users;

namespace PhiMailGateway.Ingress;

/// <summary>The answer to one AUTH attempt.</summary>
public abstract record AuthOutcome
{
    public sealed record Succeeded : AuthOutcome;

    /// <summary>Wrong credentials; <paramref name="Remaining"/> more failures start a lockout.</summary>
    public sealed record Failed(int Remaining) : AuthOutcome;

    /// <summary>Locked out until then, whatever the password: guessing cannot go on while locked.</summary>
    public sealed record Locked(DateTimeOffset Until) : AuthOutcome;

    /// <summary>The user store failed: a failed AUTH that is not counted against the client.</summary>
    public sealed record Unavailable : AuthOutcome;
}

/// <summary>
/// AUTH PLAIN/LOGIN against <see cref="IUserDirectory"/>, with brute-force protection keyed so that
/// one Outlook with a stale password locks out only itself: Smtp:MaxAuthFailures per (client address,
/// user name), and the higher Smtp:MaxAuthFailuresPerUser per user name from all addresses and per
/// client address over all user names (slow guessing from many places, or many names from one).
/// A locked-out key is refused without checking the password. Each failure also waits
/// Smtp:AuthFailureDelay. A success clears the counter of that address and name only.
/// </summary>
public sealed partial class GatewayUserAuthenticator(
    IUserDirectory users,
    AuthFailureTracker failures,
    SmtpOptions smtp,
    ILogger<GatewayUserAuthenticator> logger)
{
    public async Task<AuthOutcome> AuthenticateAsync(SessionFacts session, string user, string password, CancellationToken cancellationToken)
    {
        var client = session.ClientAddress.ToString();
        var name = (user ?? "").Trim().ToLowerInvariant();
        var pairKey = "pair:" + client + "|" + name;
        var userKey = "user:" + name;
        var clientKey = "ip:" + client;

        var lockedUntil = Latest(failures.LockedUntil(pairKey), failures.LockedUntil(userKey), failures.LockedUntil(clientKey));
        if (lockedUntil is { } until)
        {
            LogLockedOut(logger, session.SessionId, client);
            return new AuthOutcome.Locked(until);
        }

        bool ok;
        try
        {
            ok = name.Length > 0 && !string.IsNullOrEmpty(password)
                 && await users.VerifyAsync(user!, password, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A broken user store must not close the session; it is a failed AUTH.
            LogDirectoryError(logger, session.SessionId, e.GetType().Name);
            return new AuthOutcome.Unavailable();
        }

        if (ok)
        {
            failures.Reset(pairKey);
            LogSucceeded(logger, session.SessionId);
            LogSucceededUser(logger, session.SessionId, user!);
            return new AuthOutcome.Succeeded();
        }

        var pair = failures.RecordFailure(pairKey, smtp.MaxAuthFailures);
        var byUser = failures.RecordFailure(userKey, smtp.MaxAuthFailuresPerUser);
        var byClient = failures.RecordFailure(clientKey, smtp.MaxAuthFailuresPerUser);
        LogFailed(logger, session.SessionId);
        if (pair.StartedLockout) LogLockoutStarted(logger, client, "address and user name", smtp.MaxAuthFailures, smtp.AuthLockout);
        if (byUser.StartedLockout) LogLockoutStarted(logger, client, "user name from all addresses", smtp.MaxAuthFailuresPerUser, smtp.AuthLockout);
        if (byClient.StartedLockout) LogLockoutStarted(logger, client, "address over all user names", smtp.MaxAuthFailuresPerUser, smtp.AuthLockout);
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
        if (Latest(pair.LockedUntil, byUser.LockedUntil, byClient.LockedUntil) is { } nowLocked) return new AuthOutcome.Locked(nowLocked);
        return new AuthOutcome.Failed(Math.Min(pair.Remaining, Math.Min(byUser.Remaining, byClient.Remaining)));
    }

    /// <summary>The reply for an outcome; the locked one says when to try again, to the minute, in UTC.</summary>
    public static SmtpReply ReplyFor(AuthOutcome outcome) => outcome switch
    {
        AuthOutcome.Succeeded => new SmtpReply(235, "2.7.0 Authentication successful"),
        AuthOutcome.Failed f => new SmtpReply(535, f.Remaining == 1
            ? "5.7.8 Authentication credentials invalid, 1 attempt remaining before a temporary lockout"
            : $"5.7.8 Authentication credentials invalid, {f.Remaining} attempts remaining before a temporary lockout"),
        AuthOutcome.Locked l => new SmtpReply(535, "5.7.8 Authentication temporarily locked, try again at "
            + RoundUpToMinute(l.Until).ToString("HH:mm", CultureInfo.InvariantCulture) + " UTC"),
        _ => new SmtpReply(454, "4.7.0 Temporary authentication failure, try again later"),
    };

    private static DateTimeOffset RoundUpToMinute(DateTimeOffset t)
    {
        var utc = t.ToUniversalTime();
        var floor = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, TimeSpan.Zero);
        return floor == utc ? floor : floor.AddMinutes(1);
    }

    private static DateTimeOffset? Latest(DateTimeOffset? a, DateTimeOffset? b, DateTimeOffset? c)
    {
        DateTimeOffset? latest = a;
        if (b is { } vb && (latest is null || vb > latest)) latest = vb;
        if (c is { } vc && (latest is null || vc > latest)) latest = vc;
        return latest;
    }

    [LoggerMessage(EventId = 1030, Level = LogLevel.Information, Message = "Session {SessionId}: AUTH succeeded")]
    private static partial void LogSucceeded(ILogger logger, Guid sessionId);

    [LoggerMessage(EventId = 1031, Level = LogLevel.Debug, Message = "Session {SessionId}: AUTH succeeded for {UserName}")]
    private static partial void LogSucceededUser(ILogger logger, Guid sessionId, string userName);

    [LoggerMessage(EventId = 1032, Level = LogLevel.Information, Message = "Session {SessionId}: AUTH failed (535)")]
    private static partial void LogFailed(ILogger logger, Guid sessionId);

    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "AUTH lockout started for client {ClientAddress} ({Scope}) after {MaxFailures} failures; lasts {Lockout}")]
    private static partial void LogLockoutStarted(ILogger logger, string clientAddress, string scope, int maxFailures, TimeSpan lockout);

    [LoggerMessage(EventId = 1034, Level = LogLevel.Warning, Message = "Session {SessionId}: AUTH refused without checking: client {ClientAddress} or user name is locked out")]
    private static partial void LogLockedOut(ILogger logger, Guid sessionId, string clientAddress);

    [LoggerMessage(EventId = 1035, Level = LogLevel.Error, Message = "Session {SessionId}: user directory failed ({ErrorType}); AUTH answered 454")]
    private static partial void LogDirectoryError(ILogger logger, Guid sessionId, string errorType);
}
