using System.Buffers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Spool;
using SmtpServer;
using SmtpServer.Mail;
using SmtpServer.Protocol;
using SmtpServer.Storage;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The end of DATA: builds the <see cref="Envelope"/>, hands the message to <see cref="IMessageAcceptor"/>
/// and turns its answer into the reply. 250 is said only after the acceptor made the message durable
/// (DESIGN invariant 1). This store never throws: SmtpServer turns an exception into a permanent 554,
/// which would make a sender drop mail we only failed to store for a moment, so every failure here
/// is a 451 (try again) or a deliberate 5xx.
/// </summary>
public sealed partial class SpoolMessageStore(
    IMessageAcceptor acceptor,
    SmtpOptions smtp,
    TimeProvider time,
    ILogger<SpoolMessageStore> logger) : MessageStore
{
    public override async Task<SmtpResponse> SaveAsync(ISessionContext context, IMessageTransaction transaction, ReadOnlySequence<byte> buffer, CancellationToken cancellationToken)
    {
        try
        {
            // SmtpServer's Strict size handling already stops DATA near the limit; this is the
            // exact check, in case the library's accounting (which counts its read buffer) lets a
            // few bytes more through.
            if (buffer.Length > smtp.MaxMessageBytes)
            {
                LogTooLarge(logger, context.SessionId, buffer.Length, smtp.MaxMessageBytes);
                return new SmtpResponse(SmtpReplyCode.SizeLimitExceeded, "5.3.4 Message too big for this gateway");
            }

            var recipients = transaction.To.Select(AsAddress).ToArray();
            if (recipients.Length == 0)
                return new SmtpResponse(SmtpReplyCode.BadSequence, "5.5.1 No valid recipients");

            var envelope = new Envelope(
                Sender: AsAddress(transaction.From),
                Recipients: recipients,
                AuthenticatedUser: SessionFacts.AuthenticatedUser(context),
                ClientAddress: SessionFacts.ClientAddress(context)?.ToString() ?? "unknown",
                HeloName: SessionFacts.HeloName(context),
                ReceivedAt: time.GetUtcNow(),
                Secure: context.Pipe?.IsSecure ?? false);

            var result = await acceptor.AcceptAsync(envelope, buffer, cancellationToken);
            switch (result)
            {
                case AcceptResult.Accepted accepted:
                    LogQueued(logger, context.SessionId, accepted.QueueId, buffer.Length, recipients.Length);
                    return new SmtpResponse(SmtpReplyCode.Ok, $"2.0.0 Ok: queued as {accepted.QueueId}");
                case AcceptResult.Transient transient:
                    LogNotQueued(logger, context.SessionId, 451);
                    return new SmtpResponse(SmtpReplyCode.Aborted, "4.3.0 " + OneLine(transient.Reason) + ", try again later");
                case AcceptResult.Refused refused when refused.Code is >= 400 and <= 599:
                    LogNotQueued(logger, context.SessionId, refused.Code);
                    return new SmtpResponse((SmtpReplyCode)refused.Code, WithEnhancedCode(refused.Code, refused.Reason));
                default:
                    LogNotQueued(logger, context.SessionId, 451);
                    return new SmtpResponse(SmtpReplyCode.Aborted, "4.3.0 Message not accepted, try again later");
            }
        }
        catch (Exception e)
        {
            // Includes cancellation (client gone, shutdown): nothing was committed, so 451 is true.
            LogStoreError(logger, context.SessionId, e.GetType().Name);
            return new SmtpResponse(SmtpReplyCode.Aborted, "4.3.0 Temporary failure storing the message, try again later");
        }
    }

    /// <summary>An empty reverse-path (bounce) is the empty string, as the spool envelope expects.</summary>
    private static string AsAddress(IMailbox? mailbox)
    {
        if (mailbox is null || (string.IsNullOrEmpty(mailbox.User) && string.IsNullOrEmpty(mailbox.Host))) return "";
        return string.IsNullOrEmpty(mailbox.Host) ? mailbox.User : $"{mailbox.User}@{mailbox.Host}";
    }

    private static string OneLine(string text) =>
        string.IsNullOrWhiteSpace(text) ? "temporary failure" : text.ReplaceLineEndings(" ").Trim();

    private static string WithEnhancedCode(int code, string reason) =>
        EnhancedCode().IsMatch(reason ?? "") ? OneLine(reason!) : $"{code / 100}.0.0 {OneLine(reason ?? "")}";

    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3} ")]
    private static partial Regex EnhancedCode();

    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Session {SessionId}: queued {QueueId}, {Size} bytes, {RecipientCount} recipients (250)")]
    private static partial void LogQueued(ILogger logger, Guid sessionId, string queueId, long size, int recipientCount);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Session {SessionId}: message not queued ({ReplyCode})")]
    private static partial void LogNotQueued(ILogger logger, Guid sessionId, int replyCode);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information, Message = "Session {SessionId}: message of {Size} bytes over the limit of {Limit} (552)")]
    private static partial void LogTooLarge(ILogger logger, Guid sessionId, long size, long limit);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error, Message = "Session {SessionId}: storing the message failed ({ErrorType}); answered 451")]
    private static partial void LogStoreError(ILogger logger, Guid sessionId, string errorType);
}
