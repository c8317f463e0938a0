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
/// Lockouts of a user name are recorded in <see cref="IAuthLockouts"/>, and an attempt against one
/// first asks the store whether <c>users unlock NAME</c> has cleared it since.
/// </summary>
public sealed partial class GatewayUserAuthenticator(
    IUserDirectory users,
    AuthFailureTracker failures,
    IAuthLockouts lockouts,
    SmtpOptions smtp,
    ILogger<GatewayUserAuthenticator> logger)
{
    public async Task<AuthOutcome> AuthenticateAsync(SessionFacts session, string user, string password, CancellationToken cancellationToken)
    {
        var client = session.ClientAddress.ToString();
        var name = (user ?? "").Trim().ToLowerInvariant();
        // What the logs and the lockout records may carry: a name of the allowed shape, or a marker.
        // Whatever a stranger types as a user name (up to a 12 KB AUTH line) never reaches either.
        var loggable = UserName.TryNormalize(name, out var valid) ? valid : InvalidName;
        var pairKey = PairKey(client, name);
        var userKey = UserKey(name);
        var clientKey = "ip:" + client;

        var lockedUntil = Latest(failures.LockedUntil(pairKey), failures.LockedUntil(userKey), failures.LockedUntil(clientKey));
        if (lockedUntil is not null && await ClearUnlockedAsync(session, name, pairKey, userKey, cancellationToken))
            lockedUntil = Latest(failures.LockedUntil(pairKey), failures.LockedUntil(userKey), failures.LockedUntil(clientKey));
        if (lockedUntil is { } until)
        {
            LogLockedOut(logger, session.SessionId, client, loggable);
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
        if (pair.StartedLockout)
        {
            LogLockoutStarted(logger, loggable, client, "address and user name", smtp.MaxAuthFailures, smtp.AuthLockout);
            if (loggable != InvalidName) await RecordLockoutAsync(session, name, AuthLockoutScopes.Pair, client, pairKey, pair.LockedUntil!.Value);
        }
        if (byUser.StartedLockout)
        {
            LogLockoutStarted(logger, loggable, client, "user name from all addresses", smtp.MaxAuthFailuresPerUser, smtp.AuthLockout);
            if (loggable != InvalidName) await RecordLockoutAsync(session, name, AuthLockoutScopes.User, "", userKey, byUser.LockedUntil!.Value);
        }
        if (byClient.StartedLockout) LogLockoutStarted(logger, loggable, client, "address over all user names", smtp.MaxAuthFailuresPerUser, smtp.AuthLockout);
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

    private const string InvalidName = "(not a valid user name)";

    private static string PairKey(string client, string name) => "pair:" + client + "|" + name;

    private static string UserKey(string name) => "user:" + name;

    /// <summary>
    /// At start-up, before the listener opens: the lockouts recorded by the previous run that are
    /// still running hold again, so a restart neither frees a guessed-at account early nor leaves
    /// `users list` showing lockouts nobody enforces. When the records cannot be read the gateway
    /// still starts (logged): lockouts then begin afresh, as before they were recorded.
    /// </summary>
    public async Task RestoreLockoutsAsync(CancellationToken cancellationToken)
    {
        try
        {
            var running = await lockouts.ListRunningAsync(cancellationToken);
            var generations = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var lockout in running)
            {
                if (!generations.TryGetValue(lockout.UserName, out var generation))
                    generations[lockout.UserName] = generation = await lockouts.GenerationAsync(lockout.UserName, cancellationToken);
                var key = lockout.Scope == AuthLockoutScopes.Pair ? PairKey(lockout.Client, lockout.UserName) : UserKey(lockout.UserName);
                failures.RestoreLockout(key, lockout.LockedUntil, generation);
            }
            if (running.Count > 0) LogLockoutsRestored(logger, running.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLockoutsNotRestored(logger, e.GetType().Name);
        }
    }

    /// <summary>
    /// Writes the lockout where <c>users unlock</c> can clear it. Not cancellable once started: the
    /// record must match the in-memory lockout. A failed write leaves the lockout to expire by itself.
    /// </summary>
    private async Task RecordLockoutAsync(SessionFacts session, string name, string scope, string client, string key, DateTimeOffset until)
    {
        try
        {
            var generation = await lockouts.RecordAsync(name, scope, client, until - smtp.AuthLockout, until, CancellationToken.None);
            failures.TagLockout(key, generation);
        }
        catch (Exception e)
        {
            LogLockoutNotRecorded(logger, session.SessionId, e.GetType().Name);
        }
    }

    /// <summary>
    /// True when <c>users unlock NAME</c> ran after this user's lockouts started (a higher unlock
    /// generation): those lockouts are dropped here. A lockout of the client address over all user
    /// names is not the user's and stays. When the store cannot be read the lockout holds (fail closed).
    /// </summary>
    private async Task<bool> ClearUnlockedAsync(SessionFacts session, string name, string pairKey, string userKey, CancellationToken cancellationToken)
    {
        if (!UserName.TryNormalize(name, out _)) return false;
        var pairTag = failures.LockoutGeneration(pairKey);
        var userTag = failures.LockoutGeneration(userKey);
        if (pairTag is null && userTag is null) return false;
        long current;
        try
        {
            current = await lockouts.GenerationAsync(name, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLockoutNotRecorded(logger, session.SessionId, e.GetType().Name);
            return false;
        }
        var cleared = false;
        if (pairTag < current)
        {
            failures.Reset(pairKey);
            cleared = true;
        }
        if (userTag < current)
        {
            failures.Reset(userKey);
            cleared = true;
        }
        if (cleared) LogUnlocked(logger, session.SessionId, name);
        return cleared;
    }

    /// <summary>The reply for an outcome; the locked one (454, a temporary refusal the user can wait out) says when to try again, to the minute, in ISO 8601 UTC.</summary>
    public static SmtpReply ReplyFor(AuthOutcome outcome) => outcome switch
    {
        AuthOutcome.Succeeded => new SmtpReply(235, "2.7.0 Authentication successful"),
        AuthOutcome.Failed f => new SmtpReply(535, f.Remaining == 1
            ? "5.7.8 Authentication credentials invalid, 1 attempt remaining before a temporary lockout"
            : $"5.7.8 Authentication credentials invalid, {f.Remaining} attempts remaining before a temporary lockout"),
        AuthOutcome.Locked l => new SmtpReply(454, "4.7.0 Authentication temporarily locked, try again at "
            + RoundUpToMinute(l.Until).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)),
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

    // The staff user name is logged at Warning on purpose (issue 22): IT must see whose account is
    // locked to clear it. It is an account of the practice, not patient data; LogTemplateTests allows
    // {UserName} above Debug for these lockout events only.
    [LoggerMessage(EventId = 1100, Level = LogLevel.Warning, Message = "AUTH lockout started for user {UserName} from client {ClientAddress} ({Scope}) after {MaxFailures} failures; lasts {Lockout}; `users unlock` clears it")]
    private static partial void LogLockoutStarted(ILogger logger, string userName, string clientAddress, string scope, int maxFailures, TimeSpan lockout);

    [LoggerMessage(EventId = 1034, Level = LogLevel.Warning, Message = "Session {SessionId}: AUTH refused without checking: client {ClientAddress} or user {UserName} is locked out (454)")]
    private static partial void LogLockedOut(ILogger logger, Guid sessionId, string clientAddress, string userName);

    [LoggerMessage(EventId = 1200, Level = LogLevel.Warning, Message = "Session {SessionId}: lockout of user {UserName} cleared by `users unlock`")]
    private static partial void LogUnlocked(ILogger logger, Guid sessionId, string userName);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Error, Message = "Session {SessionId}: the lockout record could not be written or read ({ErrorType}); the lockout holds until it expires")]
    private static partial void LogLockoutNotRecorded(ILogger logger, Guid sessionId, string errorType);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "{Count} running AUTH lockouts restored from the previous run")]
    private static partial void LogLockoutsRestored(ILogger logger, int count);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "AUTH lockouts of the previous run could not be read ({Error}); they start afresh")]
    private static partial void LogLockoutsNotRestored(ILogger logger, string error);

    [LoggerMessage(EventId = 1035, Level = LogLevel.Error, Message = "Session {SessionId}: user directory failed ({ErrorType}); AUTH answered 454")]
    private static partial void LogDirectoryError(ILogger logger, Guid sessionId, string errorType);
}
