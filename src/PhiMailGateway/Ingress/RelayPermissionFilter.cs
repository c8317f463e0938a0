using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace PhiMailGateway.Ingress;

/// <summary>
/// No open relay (DESIGN invariant 4): at MAIL FROM and RCPT TO, only an authenticated client or one
/// from Smtp:TrustedNetworks may go on, and only with a sender in Gateway:Domains when that list is set.
/// <para>
/// SmtpServer 11's filter can only say yes or no, and "no" is always 550. To give the client the
/// precise code (530 at MAIL, 553 for a foreign sender, 554 at RCPT) the filter throws
/// <see cref="SmtpResponseException"/>, which the library's session loop writes as the reply (with
/// its ", N retry(ies) remaining" suffix) and then reads the next command. That is safe here, unlike
/// in the message store, where a thrown response leaves the client hanging.
/// </para>
/// <para>
/// With Smtp:RequireAuthentication = false, anyone who reaches the listener may relay: that setting
/// is meant only for a listener bound to a private address that only the practice's machines reach.
/// </para>
/// </summary>
public sealed partial class RelayPermissionFilter(
    SmtpOptions smtp,
    GatewayOptions gateway,
    TrustedNetworks trusted,
    ILogger<RelayPermissionFilter> logger) : IMailboxFilter
{
    private readonly HashSet<string> _domains = new(gateway.Domains, StringComparer.OrdinalIgnoreCase);

    public Task<bool> CanAcceptFromAsync(ISessionContext context, IMailbox from, int size, CancellationToken cancellationToken)
    {
        if (!MayRelay(context))
        {
            LogRefused(logger, context.SessionId, "MAIL", 530);
            throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.AuthenticationRequired, "5.7.0 Authentication required"));
        }

        var isNullSender = from is null || (string.IsNullOrEmpty(from.User) && string.IsNullOrEmpty(from.Host));
        if (!isNullSender && !WithinRfcLimits(from!))
        {
            LogRefused(logger, context.SessionId, "MAIL", 501);
            throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.SyntaxError, "5.1.7 Sender address too long"));
        }
        if (!isNullSender && _domains.Count > 0 && !_domains.Contains(from!.Host ?? ""))
        {
            LogRefused(logger, context.SessionId, "MAIL", 553);
            LogRefusedSender(logger, context.SessionId, from.AsAddress());
            throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.MailboxNameNotAllowed, "5.7.1 Sender address not in a domain of this practice"));
        }
        return Task.FromResult(true);
    }

    public Task<bool> CanDeliverToAsync(ISessionContext context, IMailbox to, IMailbox from, CancellationToken cancellationToken)
    {
        // MAIL already refused such a client, so the state machine answers 503 before we get here;
        // this stays as the second lock on the same door.
        if (!MayRelay(context))
        {
            LogRefused(logger, context.SessionId, "RCPT", 554);
            throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.TransactionFailed, "5.7.1 Relay access denied"));
        }
        if (to is null || !WithinRfcLimits(to))
        {
            LogRefused(logger, context.SessionId, "RCPT", 501);
            throw new SmtpResponseException(new SmtpResponse(SmtpReplyCode.SyntaxError, "5.1.3 Recipient address too long"));
        }
        return Task.FromResult(true);
    }

    /// <summary>
    /// RFC 5321 4.5.3.1: local part at most 64 octets, domain at most 255, whole address at most 254.
    /// SmtpServer parses longer ones happily; refusing them here keeps absurd addresses out of the
    /// spool, the queue rows and the relay's commands to the smarthost.
    /// </summary>
    internal static bool WithinRfcLimits(IMailbox mailbox)
    {
        var user = mailbox.User ?? "";
        var host = mailbox.Host ?? "";
        return user.Length <= 64 && host.Length <= 255 && user.Length + 1 + host.Length <= 254;
    }

    private bool MayRelay(ISessionContext context) =>
        !smtp.RequireAuthentication
        || SessionFacts.AuthenticatedUser(context) is not null
        || trusted.Contains(SessionFacts.ClientAddress(context));

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Session {SessionId}: {Command} refused with {ReplyCode}")]
    private static partial void LogRefused(ILogger logger, Guid sessionId, string command, int replyCode);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Debug, Message = "Session {SessionId}: sender {Sender} is outside Gateway:Domains")]
    private static partial void LogRefusedSender(ILogger logger, Guid sessionId, string sender);
}
