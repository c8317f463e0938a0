using System.Buffers.Text;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Ingress;

/// <summary>What every session shares: options, the decisions (relay, AUTH, store) and the registry.</summary>
internal sealed record SmtpSessionServices(
    SmtpOptions Smtp,
    string HostName,
    RelayPermissionFilter Filter,
    GatewayUserAuthenticator Authenticator,
    SpoolMessageStore Store,
    SslServerAuthenticationOptions Tls,
    SessionRegistry Registry,
    TrustedNetworks Trusted,
    ILogger Logger);

/// <summary>
/// One SMTP conversation (RFC 5321, with SIZE, 8BITMIME, PIPELINING, ENHANCEDSTATUSCODES, STARTTLS,
/// and AUTH PLAIN/LOGIN offered only under TLS): the command loop and the transaction state. Every
/// wait on the client is bounded: command lines by length, idle time by Smtp:UnauthenticatedTimeout
/// or Smtp:SessionTimeout, TLS handshakes by Smtp:HandshakeTimeout, a run of bad commands by
/// <see cref="MaxErrors"/>. Whatever the client sends, the session ends with a reply or a closed
/// socket, never an exception out of <see cref="RunAsync"/>.
/// </summary>
internal sealed partial class SmtpSession
{
    /// <summary>Syntax and sequence errors before the session is closed with 421 (Postfix's smtpd_hard_error_limit is 20; a real client makes none).</summary>
    public const int MaxErrors = 10;

    private static readonly TimeSpan FinalReplyTimeout = TimeSpan.FromSeconds(2);

    private readonly SmtpSessionServices _services;
    private readonly SmtpOptions _smtp;
    private readonly Socket _socket;
    private readonly bool _implicitTls;
    private readonly IdleTimer _timer;
    private readonly SessionFacts _facts;
    private readonly DataReader _data;
    private readonly List<string> _recipients = [];
    private SmtpConnection? _connection;
    private SessionRegistry.Entry? _entry;

    private bool _greeted;
    private string? _sender; // null: no transaction; "": the null reverse-path
    private int _errors;

    public SmtpSession(SmtpSessionServices services, Socket socket, bool implicitTls, CancellationToken stopping)
    {
        _services = services;
        _smtp = services.Smtp;
        _socket = socket;
        _implicitTls = implicitTls;
        _timer = new IdleTimer(stopping);
        var remote = (System.Net.IPEndPoint)socket.RemoteEndPoint!;
        var address = SessionFacts.Normalize(remote.Address);
        _facts = new SessionFacts(address, services.Trusted.Contains(address));
        _data = new DataReader(_smtp.MaxMessageBytes, _smtp.MaxHeaderLineBytes, _smtp.MaxHeaderFields);
    }

    public Guid SessionId => _facts.SessionId;

    private ILogger Logger => _services.Logger;

    /// <summary>Idle time allowed now: short for strangers, Smtp:SessionTimeout once known.</summary>
    private TimeSpan IdleTimeout => _facts.IsKnown ? _smtp.SessionTimeout : Min(_smtp.UnauthenticatedTimeout, _smtp.SessionTimeout);

    public async Task RunAsync()
    {
        var admission = _services.Registry.TryAdmit(_facts, _timer, out var entry);
        _connection = new SmtpConnection(_socket);
        try
        {
            if (admission != Admission.Admitted)
            {
                LogTurnedAway(Logger, _facts.SessionId, admission.ToString());
                // On the implicit-TLS port there is no clear-text SMTP to say 421 in; the close says it.
                if (!_implicitTls) await SendFinalAsync(admission == Admission.TooManyFromAddress ? SmtpReply.TooManyFromAddress : SmtpReply.TooManySessions);
                return;
            }
            _entry = entry;
            await ConverseAsync();
        }
        catch (OperationCanceledException)
        {
            var reply = _timer.Evicted ? SmtpReply.Evicted : _timer.Stopping.IsCancellationRequested ? SmtpReply.ShuttingDown : SmtpReply.TimedOut;
            LogClosed(Logger, _facts.SessionId, reply.Code, _timer.Evicted ? "evicted" : _timer.Stopping.IsCancellationRequested ? "shutdown" : "timeout");
            await SendFinalAsync(reply);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or AuthenticationException)
        {
            // The client went away or failed its TLS handshake: nothing to answer, nothing was acknowledged.
            LogClientGone(Logger, _facts.SessionId, e.GetType().Name);
        }
        catch (Exception e)
        {
            LogSessionFaulted(Logger, _facts.SessionId, e.GetType().Name);
            await SendFinalAsync(new SmtpReply(421, "4.3.0 internal error, closing connection"));
        }
        finally
        {
            if (_entry is not null) _services.Registry.Remove(_entry);
            await _connection.DisposeAsync();
            _timer.Dispose();
        }
    }

    private async Task ConverseAsync()
    {
        var connection = _connection!;
        if (_implicitTls)
        {
            await HandshakeAsync();
            // A failed handshake throws; a stalled one is cut by the timer.
        }
        await SendAsync(new SmtpReply(220, _services.HostName + " ESMTP ready"));
        var buffer = new PooledMessageBuffer();
        try
        {
            while (true)
            {
                _timer.Arm(IdleTimeout);
                var (status, line) = await SmtpLineReader.ReadCommandAsync(connection.Reader, _timer.Token);
                _timer.Disarm();
                _entry!.Touch();
                if (status == LineStatus.Closed) return;
                if (status == LineStatus.TooLong)
                {
                    LogLineTooLong(Logger, _facts.SessionId, SmtpLineReader.CommandLineLimit);
                    if (!await ErrorAsync(SmtpReply.LineTooLong)) return;
                    continue;
                }
                if (!await ExecuteAsync(line, buffer)) return;
            }
        }
        finally
        {
            buffer.Release();
        }
    }

    /// <summary>Runs one command; false when the session is over.</summary>
    private async ValueTask<bool> ExecuteAsync(string line, PooledMessageBuffer buffer)
    {
        var space = line.IndexOf(' ');
        var verb = space < 0 ? line : line[..space];
        var argument = space < 0 ? "" : line[(space + 1)..].Trim(' ');
        switch (verb.ToUpperInvariant())
        {
            case "EHLO":
                return await HeloAsync(argument, extended: true);
            case "HELO":
                return await HeloAsync(argument, extended: false);
            case "MAIL":
                return await MailAsync(argument);
            case "RCPT":
                return await RcptAsync(argument);
            case "DATA":
                return await DataAsync(argument, buffer);
            case "RSET":
                ResetTransaction();
                return await ReplyAsync(SmtpReply.Ok);
            case "NOOP":
                return await ReplyAsync(SmtpReply.Ok);
            case "QUIT":
                await SendAsync(new SmtpReply(221, "2.0.0 Bye"));
                return false;
            case "VRFY":
                return await ReplyAsync(new SmtpReply(252, "2.5.0 Cannot VRFY user, but will accept the message"));
            case "HELP":
                return await ReplyAsync(new SmtpReply(214, "2.0.0 See RFC 5321"));
            case "STARTTLS":
                return await StartTlsAsync(argument);
            case "AUTH":
                return await AuthAsync(argument);
            default:
                return await ErrorAsync(new SmtpReply(500, "5.5.2 Command not recognized"));
        }
    }

    private async ValueTask<bool> HeloAsync(string argument, bool extended)
    {
        if (argument.Length == 0 || argument.Contains(' '))
            return await ErrorAsync(new SmtpReply(501, $"5.5.4 Syntax: {(extended ? "EHLO" : "HELO")} domain-or-address"));
        _facts.HeloName = argument;
        _greeted = true;
        ResetTransaction();
        if (!extended) return await ReplyAsync(new SmtpReply(250, _services.HostName));
        var lines = new List<string>(8)
        {
            _services.HostName,
            "SIZE " + _smtp.MaxMessageBytes.ToString(CultureInfo.InvariantCulture),
            "8BITMIME",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
        };
        // RFC 3207 / invariant: a password never crosses in clear, so AUTH only under TLS.
        if (_connection!.IsSecure) lines.Add("AUTH PLAIN LOGIN");
        else lines.Add("STARTTLS");
        _timer.Arm(IdleTimeout);
        await _connection.SendAsync(250, lines, _timer.Token);
        _timer.Disarm();
        return true;
    }

    private async ValueTask<bool> MailAsync(string argument)
    {
        if (!_greeted) return await ErrorAsync(new SmtpReply(503, "5.5.1 Bad sequence: send EHLO first"));
        if (_sender is not null) return await ErrorAsync(new SmtpReply(503, "5.5.1 Bad sequence: nested MAIL command"));
        if (_services.Filter.CheckMayMail(_facts) is { } refused) return await ReplyAsync(refused);
        if (!SmtpPathParser.TryParse(argument, "FROM:", allowNullPath: true, out var path, out var error))
            return await RefuseAddressAsync(error);
        if (CheckMailParameters(path.Parameters) is { } bad) return await ErrorAsync(bad);
        if (_services.Filter.CheckSender(_facts, path.Mailbox) is { } foreign) return await ReplyAsync(foreign);
        _sender = path.Mailbox?.Address ?? "";
        _recipients.Clear();
        return await ReplyAsync(new SmtpReply(250, "2.1.0 Ok"));
    }

    /// <summary>SIZE (RFC 1870), BODY (RFC 6152) and AUTH (RFC 4954) are understood; anything else is 555.</summary>
    private SmtpReply? CheckMailParameters(string parameters)
    {
        foreach (var parameter in parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = parameter.IndexOf('=');
            var key = eq < 0 ? parameter : parameter[..eq];
            var value = eq < 0 ? "" : parameter[(eq + 1)..];
            if (key.Equals("SIZE", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var size))
                    return new SmtpReply(501, "5.5.4 Bad SIZE parameter");
                if (size > _smtp.MaxMessageBytes) return new SmtpReply(552, "5.3.4 Message size exceeds the limit of this gateway");
            }
            else if (key.Equals("BODY", StringComparison.OrdinalIgnoreCase))
            {
                if (!value.Equals("7BIT", StringComparison.OrdinalIgnoreCase) && !value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase))
                    return new SmtpReply(501, "5.5.4 Bad BODY parameter");
            }
            else if (!key.Equals("AUTH", StringComparison.OrdinalIgnoreCase))
            {
                return new SmtpReply(555, "5.5.4 Unsupported MAIL parameter");
            }
        }
        return null;
    }

    private async ValueTask<bool> RcptAsync(string argument)
    {
        if (_sender is null) return await ErrorAsync(new SmtpReply(503, "5.5.1 Bad sequence: send MAIL first"));
        if (_services.Filter.CheckMayRcpt(_facts) is { } refused) return await ReplyAsync(refused);
        if (!SmtpPathParser.TryParse(argument, "TO:", allowNullPath: false, out var path, out var error))
            return await RefuseAddressAsync(error);
        if (path.Parameters.Length > 0) return await ErrorAsync(new SmtpReply(555, "5.5.4 Unsupported RCPT parameter"));
        if (_recipients.Count >= _smtp.MaxRecipients)
        {
            if (_recipients.Count == _smtp.MaxRecipients) LogTooManyRecipients(Logger, _facts.SessionId, _smtp.MaxRecipients);
            return await ReplyAsync(SmtpReply.TooManyRecipients);
        }
        var mailbox = path.Mailbox!.Value;
        if (_services.Filter.CheckRecipient(_facts, mailbox) is { } tooLong) return await ReplyAsync(tooLong);
        _recipients.Add(mailbox.Address);
        return await ReplyAsync(new SmtpReply(250, "2.1.5 Ok"));
    }

    private async ValueTask<bool> RefuseAddressAsync(SmtpReply error)
    {
        LogAddressRefused(Logger, _facts.SessionId, error.Code, error.Text[..Math.Min(error.Text.Length, 6)].Trim());
        return error.Code == 501 ? await ErrorAsync(error) : await ReplyAsync(error);
    }

    private async ValueTask<bool> DataAsync(string argument, PooledMessageBuffer buffer)
    {
        if (_sender is null) return await ErrorAsync(new SmtpReply(503, "5.5.1 Bad sequence: send MAIL first"));
        if (_recipients.Count == 0) return await ErrorAsync(new SmtpReply(554, "5.5.1 No valid recipients"));
        if (argument.Length > 0) return await ErrorAsync(new SmtpReply(501, "5.5.4 DATA takes no argument"));
        await SendAsync(new SmtpReply(354, "End data with <CR><LF>.<CR><LF>"));

        SmtpReply reply;
        try
        {
            var outcome = await _data.ReadAsync(_connection!.Reader, buffer, _timer, _smtp.SessionTimeout);
            switch (outcome)
            {
                case DataOutcome.Closed:
                    return false;
                case DataOutcome.Complete:
                    reply = await _services.Store.SaveAsync(_facts, _sender, _recipients, buffer.AsSequence(), _timer.Stopping);
                    break;
                case DataOutcome.TooLarge:
                    LogTooLarge(Logger, _facts.SessionId, _data.Size, _smtp.MaxMessageBytes);
                    reply = SmtpReply.TooLarge;
                    break;
                case DataOutcome.BareCr:
                    LogDataRefused(Logger, _facts.SessionId, "bare CR", 550);
                    reply = SmtpReply.BareCr;
                    break;
                case DataOutcome.HeaderLineTooLong:
                    LogDataRefused(Logger, _facts.SessionId, "header line too long", 552);
                    reply = SmtpReply.HeaderLineTooLong;
                    break;
                default:
                    LogDataRefused(Logger, _facts.SessionId, "too many header fields", 552);
                    reply = SmtpReply.TooManyHeaders;
                    break;
            }
        }
        finally
        {
            buffer.Release();
            ResetTransaction();
        }
        return await ReplyAsync(reply);
    }

    private async ValueTask<bool> StartTlsAsync(string argument)
    {
        if (_connection!.IsSecure) return await ErrorAsync(new SmtpReply(503, "5.5.1 TLS already active"));
        if (argument.Length > 0) return await ErrorAsync(new SmtpReply(501, "5.5.4 STARTTLS takes no argument"));
        await SendAsync(new SmtpReply(220, "2.0.0 Ready to start TLS"));
        await HandshakeAsync();
        // RFC 3207 4.2: the session starts over; nothing said before TLS counts.
        _greeted = false;
        _facts.HeloName = null;
        ResetTransaction();
        return true;
    }

    private async Task HandshakeAsync()
    {
        _timer.Arm(_smtp.HandshakeTimeout);
        await _connection!.UpgradeAsync(_services.Tls, _timer.Token);
        _timer.Disarm();
        _facts.Secure = true;
    }

    private async ValueTask<bool> AuthAsync(string argument)
    {
        if (!_connection!.IsSecure) return await ReplyAsync(new SmtpReply(538, "5.7.11 Encryption required: use STARTTLS first"));
        if (!_greeted) return await ErrorAsync(new SmtpReply(503, "5.5.1 Bad sequence: send EHLO first"));
        if (_facts.AuthenticatedUser is not null) return await ErrorAsync(new SmtpReply(503, "5.5.1 Already authenticated"));
        if (_sender is not null) return await ErrorAsync(new SmtpReply(503, "5.5.1 AUTH not allowed during a mail transaction"));

        var space = argument.IndexOf(' ');
        var mechanism = (space < 0 ? argument : argument[..space]).ToUpperInvariant();
        var initial = space < 0 ? null : argument[(space + 1)..].Trim(' ');
        string user, password;
        switch (mechanism)
        {
            case "PLAIN":
            {
                var response = initial ?? await ChallengeAsync("");
                if (response is null) return true;
                if (!TryDecode(response, out var plain)) return await ErrorAsync(new SmtpReply(501, "5.5.2 Cannot decode AUTH response"));
                // RFC 4616: authzid NUL authcid NUL passwd.
                var parts = plain.Split('\0');
                if (parts.Length != 3) return await ErrorAsync(new SmtpReply(501, "5.5.2 Malformed AUTH PLAIN response"));
                if (parts[0].Length > 0 && !parts[0].Equals(parts[1], StringComparison.OrdinalIgnoreCase))
                {
                    // RFC 4616 lets the server refuse to act for another identity; we never do.
                    LogAuthzidRefused(Logger, _facts.SessionId);
                    return await ReplyAsync(new SmtpReply(535, "5.7.8 Authorization identity must be the user itself"));
                }
                user = parts[1];
                password = parts[2];
                break;
            }
            case "LOGIN":
            {
                string? encodedUser = initial;
                encodedUser ??= await ChallengeAsync("VXNlcm5hbWU6");
                if (encodedUser is null) return true;
                if (!TryDecode(encodedUser, out user)) return await ErrorAsync(new SmtpReply(501, "5.5.2 Cannot decode AUTH response"));
                var encodedPassword = await ChallengeAsync("UGFzc3dvcmQ6");
                if (encodedPassword is null) return true;
                if (!TryDecode(encodedPassword, out password)) return await ErrorAsync(new SmtpReply(501, "5.5.2 Cannot decode AUTH response"));
                break;
            }
            default:
                return await ErrorAsync(new SmtpReply(504, "5.5.4 Unrecognized authentication type"));
        }

        var outcome = await _services.Authenticator.AuthenticateAsync(_facts, user, password, _timer.Stopping);
        if (outcome is AuthOutcome.Succeeded)
        {
            _facts.AuthenticatedUser = user;
            _services.Registry.Authenticated(_entry!);
        }
        return await ReplyAsync(GatewayUserAuthenticator.ReplyFor(outcome));
    }

    /// <summary>Sends a 334 challenge and reads the answer (RFC 4954 bounds it at 12,288 bytes); null when the exchange ended.</summary>
    private async ValueTask<string?> ChallengeAsync(string challenge)
    {
        await SendAsync(new SmtpReply(334, challenge));
        _timer.Arm(IdleTimeout);
        var (status, line) = await SmtpLineReader.ReadAsync(_connection!.Reader, SmtpLineReader.AuthLineLimit, _timer.Token);
        _timer.Disarm();
        switch (status)
        {
            case LineStatus.Closed:
                throw new IOException("client closed during AUTH");
            case LineStatus.TooLong:
                LogLineTooLong(Logger, _facts.SessionId, SmtpLineReader.AuthLineLimit);
                await ErrorAsync(SmtpReply.LineTooLong);
                return null;
        }
        if (line == "*")
        {
            await ReplyAsync(new SmtpReply(501, "5.0.0 Authentication cancelled"));
            return null;
        }
        return line;
    }

    private static bool TryDecode(string base64, out string text)
    {
        text = "";
        var bytes = new byte[Base64.GetMaxDecodedFromUtf8Length(base64.Length)];
        if (Convert.TryFromBase64String(base64, bytes, out var written))
        {
            text = Encoding.UTF8.GetString(bytes, 0, written);
            return true;
        }
        return false;
    }

    private void ResetTransaction()
    {
        _sender = null;
        _recipients.Clear();
    }

    /// <summary>A syntax or sequence error: answered, and counted; past <see cref="MaxErrors"/> the session ends with 421.</summary>
    private async ValueTask<bool> ErrorAsync(SmtpReply reply)
    {
        if (++_errors >= MaxErrors)
        {
            LogTooManyErrors(Logger, _facts.SessionId, _errors);
            await SendAsync(reply);
            await SendAsync(SmtpReply.TooManyErrors);
            return false;
        }
        await SendAsync(reply);
        return true;
    }

    private async ValueTask<bool> ReplyAsync(SmtpReply reply)
    {
        await SendAsync(reply);
        return true;
    }

    private async ValueTask SendAsync(SmtpReply reply)
    {
        _timer.Arm(IdleTimeout);
        await _connection!.SendAsync(reply, _timer.Token);
        _timer.Disarm();
    }

    /// <summary>The last word before closing; a client that does not read it within a moment loses it.</summary>
    private async ValueTask SendFinalAsync(SmtpReply reply)
    {
        try
        {
            using var timeout = new CancellationTokenSource(FinalReplyTimeout);
            await _connection!.SendAsync(reply, timeout.Token);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // Gone already.
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Session {SessionId} faulted ({ErrorType})")]
    private static partial void LogSessionFaulted(ILogger logger, Guid sessionId, string errorType);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Session {SessionId}: message of {Size} bytes over the limit of {Limit} (552)")]
    private static partial void LogTooLarge(ILogger logger, Guid sessionId, long size, long limit);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Session {SessionId}: command line over {Limit} bytes (500)")]
    private static partial void LogLineTooLong(ILogger logger, Guid sessionId, int limit);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information, Message = "Session {SessionId}: {ErrorCount} bad commands, closing (421)")]
    private static partial void LogTooManyErrors(ILogger logger, Guid sessionId, int errorCount);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Session {SessionId}: closed with {ReplyCode} ({Reason})")]
    private static partial void LogClosed(ILogger logger, Guid sessionId, int replyCode, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Debug, Message = "Session {SessionId}: client gone ({ErrorType})")]
    private static partial void LogClientGone(ILogger logger, Guid sessionId, string errorType);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "Session {SessionId}: turned away ({Reason}, 421)")]
    private static partial void LogTurnedAway(ILogger logger, Guid sessionId, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information, Message = "Session {SessionId}: message refused ({Reason}, {ReplyCode})")]
    private static partial void LogDataRefused(ILogger logger, Guid sessionId, string reason, int replyCode);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Information, Message = "Session {SessionId}: more than {Limit} recipients (452)")]
    private static partial void LogTooManyRecipients(ILogger logger, Guid sessionId, int limit);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Information, Message = "Session {SessionId}: address refused ({ReplyCode} {Status})")]
    private static partial void LogAddressRefused(ILogger logger, Guid sessionId, int replyCode, string status);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Warning, Message = "Session {SessionId}: AUTH PLAIN with another authorization identity refused (535)")]
    private static partial void LogAuthzidRefused(ILogger logger, Guid sessionId);
}
