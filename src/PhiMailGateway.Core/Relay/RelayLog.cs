using Microsoft.Extensions.Logging;

namespace PhiMailGateway.Relay;

/// <summary>
/// Relay log events, ids 4000–4999, never reused. Ids, counts, sizes and reply codes only: addresses
/// and upstream reply texts (which often quote addresses) are logged at Debug, never above; subjects,
/// bodies, file names and credentials never.
/// </summary>
internal static partial class RelayLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: written to the outbox for {RecipientCount} recipient(s), {Bytes} bytes")]
    public static partial void OutboxWritten(ILogger logger, string deliveryId, int recipientCount, long bytes);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: outbox write failed ({ErrorType}); {RecipientCount} recipient(s) deferred")]
    public static partial void OutboxWriteFailed(ILogger logger, string deliveryId, string errorType, int recipientCount);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: smarthost attempt finished: {Delivered} delivered, {Deferred} deferred, {Failed} failed, {Bytes} bytes")]
    public static partial void SmarthostAttempt(ILogger logger, string deliveryId, int delivered, int deferred, int failed, long bytes);

    // Host and port are the practice's own configuration, the error is SmarthostFailure's closed vocabulary: no address ever.
    [LoggerMessage(EventId = 4200, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: smarthost {Host}:{Port} connection trouble: {Error} ({ErrorType}); {RecipientCount} recipient(s) deferred")]
    public static partial void ConnectionTrouble(ILogger logger, string deliveryId, string host, int port, string error, string errorType, int recipientCount);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: smarthost detail ({ErrorType}): {Detail}")]
    public static partial void ConnectionTroubleDetail(ILogger logger, string deliveryId, string errorType, string detail);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: requires TLS but Relay:Security is None; {RecipientCount} recipient(s) deferred, nothing sent")]
    public static partial void RequireTlsWithoutTls(ILogger logger, string deliveryId, int recipientCount);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Information, Message = "Delivery {DeliveryId}: smarthost refused MAIL FROM with {Code}")]
    public static partial void SenderRefused(ILogger logger, string deliveryId, int code);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Information, Message = "Delivery {DeliveryId}: smarthost refused the message data with {Code}")]
    public static partial void DataRefused(ILogger logger, string deliveryId, int code);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Information, Message = "Delivery {DeliveryId}: smarthost refused a recipient with {Code}")]
    public static partial void RecipientRefused(ILogger logger, string deliveryId, int code);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: recipient {Recipient} refused: {Response}")]
    public static partial void RecipientRefusedDetail(ILogger logger, string deliveryId, string recipient, string response);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Debug, Message = "Smarthost connection opened to port {Port} with {Security}; encrypted {Encrypted}, authenticated {Authenticated}")]
    public static partial void ConnectionOpened(ILogger logger, int port, string security, bool encrypted, bool authenticated);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: pooled smarthost connection was dead ({ErrorType}); reconnecting once")]
    public static partial void PooledConnectionDead(ILogger logger, string deliveryId, string errorType);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning, Message = "Smarthost certificate rejected: {Reason}")]
    public static partial void CertificateRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 4023, Level = LogLevel.Warning, Message = "Delivery {DeliveryId}: content could not be read ({ErrorType}); {RecipientCount} recipient(s) deferred")]
    public static partial void ContentUnreadable(ILogger logger, string deliveryId, string errorType, int recipientCount);
}
