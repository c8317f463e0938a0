using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Ingress;

/// <summary>
/// No open relay (DESIGN invariant 4): at MAIL FROM and RCPT TO, only an authenticated client or one
/// from Smtp:TrustedNetworks may go on, and only with a sender in Gateway:Domains when that list is set.
/// Each check answers null (go on) or the precise refusal: 530 at MAIL without AUTH, 553 for a
/// foreign sender, 554 at RCPT.
/// <para>
/// With Smtp:RequireAuthentication = false, anyone who reaches the listener may relay: that setting
/// is meant only for a listener bound to a private address that only the practice's machines reach.
/// </para>
/// </summary>
public sealed partial class RelayPermissionFilter(
    SmtpOptions smtp,
    GatewayOptions gateway,
    ILogger<RelayPermissionFilter> logger)
{
    private static readonly SmtpReply AuthenticationRequired = new(530, "5.7.0 Authentication required");
    private static readonly SmtpReply RelayDenied = new(554, "5.7.1 Relay access denied");
    private static readonly SmtpReply SenderTooLong = new(501, "5.1.7 Sender address too long");
    private static readonly SmtpReply RecipientTooLong = new(501, "5.1.3 Recipient address too long");
    private static readonly SmtpReply ForeignSender = new(553, "5.7.1 Sender address not in a domain of this practice");

    private readonly HashSet<string> _domains = new(gateway.Domains, StringComparer.OrdinalIgnoreCase);

    /// <summary>Asked before the MAIL argument is even parsed, so a stranger learns nothing about our address rules.</summary>
    public SmtpReply? CheckMayMail(SessionFacts session)
    {
        if (MayRelay(session)) return null;
        LogRefused(logger, session.SessionId, "MAIL", 530);
        return AuthenticationRequired;
    }

    public SmtpReply? CheckSender(SessionFacts session, Mailbox? from)
    {
        if (from is not { } sender) return null; // the null reverse-path of a bounce
        if (!WithinRfcLimits(sender))
        {
            LogRefused(logger, session.SessionId, "MAIL", 501);
            return SenderTooLong;
        }
        if (_domains.Count > 0 && !_domains.Contains(sender.Domain))
        {
            LogRefused(logger, session.SessionId, "MAIL", 553);
            LogRefusedSender(logger, session.SessionId, sender.Address);
            return ForeignSender;
        }
        return null;
    }

    /// <summary>MAIL already refused such a client, so RCPT answers 503 before this; it stays as the second lock on the same door.</summary>
    public SmtpReply? CheckMayRcpt(SessionFacts session)
    {
        if (MayRelay(session)) return null;
        LogRefused(logger, session.SessionId, "RCPT", 554);
        return RelayDenied;
    }

    public SmtpReply? CheckRecipient(SessionFacts session, Mailbox to)
    {
        if (WithinRfcLimits(to)) return null;
        LogRefused(logger, session.SessionId, "RCPT", 501);
        return RecipientTooLong;
    }

    /// <summary>
    /// RFC 5321 4.5.3.1: local part at most 64 octets, domain at most 255, whole address at most 254.
    /// Refusing longer ones keeps absurd addresses out of the spool, the queue rows and the relay's
    /// commands to the smarthost.
    /// </summary>
    internal static bool WithinRfcLimits(Mailbox mailbox) =>
        mailbox.LocalPart.Length <= 64 && mailbox.Domain.Length <= 255 && mailbox.LocalPart.Length + 1 + mailbox.Domain.Length <= 254;

    private bool MayRelay(SessionFacts session) => !smtp.RequireAuthentication || session.IsKnown;

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Session {SessionId}: {Command} refused with {ReplyCode}")]
    private static partial void LogRefused(ILogger logger, Guid sessionId, string command, int replyCode);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Debug, Message = "Session {SessionId}: sender {Sender} is outside Gateway:Domains")]
    private static partial void LogRefusedSender(ILogger logger, Guid sessionId, string sender);
}
