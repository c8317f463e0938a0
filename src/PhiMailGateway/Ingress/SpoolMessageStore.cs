using System.Buffers;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Ingress;

/// <summary>
/// The end of DATA: builds the <see cref="Envelope"/>, hands the message to <see cref="IMessageAcceptor"/>
/// and turns its answer into the reply. 250 is said only after the acceptor made the message durable
/// (DESIGN invariant 1). This store never throws and never answers 554 for our own failure: a sender
/// drops mail on a permanent error, so every failure here is a 451 (try again) or a deliberate 5xx.
/// </summary>
public sealed partial class SpoolMessageStore(
    IMessageAcceptor acceptor,
    Health.GatewayMetrics metrics,
    TimeProvider time,
    ILogger<SpoolMessageStore> logger)
{
    /// <param name="sender">The envelope sender, "" for the null reverse-path of a bounce.</param>
    /// <param name="message">The message as received, its last line ended by CRLF.</param>
    public async Task<SmtpReply> SaveAsync(SessionFacts session, string sender, IReadOnlyList<string> recipients, ReadOnlySequence<byte> message, CancellationToken cancellationToken)
    {
        try
        {
            if (recipients.Count == 0) return new SmtpReply(554, "5.5.1 No valid recipients");

            var envelope = new Envelope(
                Sender: sender,
                Recipients: [.. recipients],
                AuthenticatedUser: session.AuthenticatedUser,
                ClientAddress: session.ClientAddress.ToString(),
                HeloName: session.HeloName,
                ReceivedAt: time.GetUtcNow(),
                Secure: session.Secure);

            var result = await acceptor.AcceptAsync(envelope, message, cancellationToken);
            switch (result)
            {
                case AcceptResult.Accepted accepted:
                    metrics.MessageAccepted();
                    LogQueued(logger, session.SessionId, accepted.QueueId, session.AuthenticatedUser ?? "(trusted network)",
                        MessageIdHeader.Find(message) ?? "(none)", message.Length, recipients.Count);
                    return new SmtpReply(250, $"2.0.0 Ok: queued as {accepted.QueueId}");
                case AcceptResult.Transient transient:
                    LogNotQueued(logger, session.SessionId, 451);
                    return new SmtpReply(451, "4.3.0 " + OneLine(transient.Reason) + ", try again later");
                case AcceptResult.Refused refused when refused.Code is >= 400 and <= 599:
                    LogNotQueued(logger, session.SessionId, refused.Code);
                    return new SmtpReply(refused.Code, WithEnhancedCode(refused.Code, refused.Reason));
                default:
                    LogNotQueued(logger, session.SessionId, 451);
                    return new SmtpReply(451, "4.3.0 Message not accepted, try again later");
            }
        }
        catch (Exception e)
        {
            // Includes cancellation (client gone, shutdown): nothing was committed, so 451 is true.
            LogStoreError(logger, session.SessionId, e.GetType().Name);
            return new SmtpReply(451, "4.3.0 Temporary failure storing the message, try again later");
        }
    }

    private static string OneLine(string text) =>
        string.IsNullOrWhiteSpace(text) ? "temporary failure" : text.ReplaceLineEndings(" ").Trim();

    private static string WithEnhancedCode(int code, string reason) =>
        EnhancedCode().IsMatch(reason ?? "") ? OneLine(reason!) : $"{code / 100}.0.0 {OneLine(reason ?? "")}";

    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3} ")]
    private static partial Regex EnhancedCode();

    // The staff user name, so IT can tell whose mail a queue id is (issue 22); never an address of
    // the envelope. LogTemplateTests allows {UserName} here for that reason.
    [LoggerMessage(EventId = 1010, Level = LogLevel.Information, Message = "Session {SessionId}: queued {QueueId} from user {UserName}, Message-ID {MessageId}, {Size} bytes, {RecipientCount} recipients (250)")]
    private static partial void LogQueued(ILogger logger, Guid sessionId, string queueId, string userName, string messageId, long size, int recipientCount);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Warning, Message = "Session {SessionId}: message not queued ({ReplyCode})")]
    private static partial void LogNotQueued(ILogger logger, Guid sessionId, int replyCode);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Error, Message = "Session {SessionId}: storing the message failed ({ErrorType}); answered 451")]
    private static partial void LogStoreError(ILogger logger, Guid sessionId, string errorType);
}
