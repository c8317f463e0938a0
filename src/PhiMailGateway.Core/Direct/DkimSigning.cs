using MailKit.Net.Smtp;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Cryptography;
using Org.BouncyCastle.Security;

namespace PhiMailGateway.Direct;

/// <summary>
/// DKIM-signs directly delivered copies for <c>Direct:Dkim:Domain</c> (relaxed/relaxed, rsa-sha256),
/// with MimeKit's <see cref="DkimSigner"/>. Only mail of that domain is signed: the envelope sender's
/// or the From domain must be it or below it, since a signature for another domain than the author's
/// does not help DMARC and says the practice vouches for mail that is not its own. The signature is
/// one header on top; the body goes out as queued (MailKit does not re-encode a signed message).
/// </summary>
public sealed partial class DkimSigning
{
    /// <summary>Signed when present (From always); the ones a forwarder or list would have reason to change are left out.</summary>
    public static readonly HeaderId[] SignedHeaders =
    [
        HeaderId.From, HeaderId.To, HeaderId.Cc, HeaderId.Subject, HeaderId.Date, HeaderId.MessageId,
        HeaderId.MimeVersion, HeaderId.ContentType, HeaderId.InReplyTo, HeaderId.References,
    ];

    // The longest line MailKit lets through; the same limit it prepares unsigned messages with.
    private const int MaxLineLength = 998;

    private readonly DkimSigner? _signer;
    private readonly string _domain;
    private readonly ILogger _logger;

    private DkimSigning(DkimSigner? signer, string domain, ILogger logger)
    {
        _signer = signer;
        _domain = domain;
        _logger = logger;
    }

    /// <summary>
    /// The signer for <paramref name="options"/>' <c>Dkim</c> keys (validated at start-up), or one that
    /// signs nothing when they are not set; direct delivery that is on and unsigned is said at Warning.
    /// </summary>
    public static DkimSigning Create(DirectOptions options, ILogger logger)
    {
        var dkim = options.Dkim;
        if (!dkim.IsConfigured)
        {
            if (options.Enabled) LogUnsigned(logger);
            return new DkimSigning(null, string.Empty, logger);
        }
        using var rsa = DkimKeyFile.Load(dkim.KeyPath!.Trim());
        var key = PrivateKeyFactory.CreateKey(rsa.ExportPkcs8PrivateKey());
        var signer = new DkimSigner(key, dkim.NormalizedDomain, dkim.NormalizedSelector, DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        LogSigning(logger, dkim.NormalizedDomain, dkim.NormalizedSelector, rsa.KeySize);
        return new DkimSigning(signer, dkim.NormalizedDomain, logger);
    }

    public bool Enabled => _signer is not null;

    /// <summary>
    /// Adds a DKIM-Signature to <paramref name="message"/> when its sender is of the signing domain;
    /// returns whether it did. <paramref name="capabilities"/> are the MX's: the message is first
    /// prepared for them as MailKit would prepare it unsigned (8-bit parts for a server without
    /// 8BITMIME), because MailKit leaves a signed message alone.
    /// </summary>
    public bool Sign(MimeMessage message, string? envelopeSender, SmtpCapabilities capabilities, string deliveryId)
    {
        if (_signer is null) return false;
        if (message.From.Mailboxes.FirstOrDefault() is null)
        {
            LogNotSigned(_logger, deliveryId, "the message has no From address");
            return false;
        }
        if (!Within(RecipientDomain.Of(envelopeSender)) && !message.From.Mailboxes.Any(m => Within(RecipientDomain.Of(m.Address))))
        {
            LogNotSigned(_logger, deliveryId, "neither the envelope sender's domain nor the From domain is Direct:Dkim:Domain or below it");
            return false;
        }
        var constraint = (capabilities & SmtpCapabilities.BinaryMime) != 0 ? EncodingConstraint.None
            : (capabilities & SmtpCapabilities.EightBitMime) != 0 ? EncodingConstraint.EightBit
            : EncodingConstraint.SevenBit;
        message.Prepare(constraint, MaxLineLength);
        var present = SignedHeaders.Where(h => h == HeaderId.From || Present(message, h)).ToList();
        _signer.Sign(message, present);
        LogSigned(_logger, deliveryId, present.Count);
        return true;
    }

    // MimeKit keeps a message's Content-* headers with its body (the signer looks there too).
    private static bool Present(MimeMessage message, HeaderId header) =>
        message.Headers.Contains(header) || (header == HeaderId.ContentType && message.Body?.Headers.Contains(header) == true);

    /// <summary>The domain itself or a subdomain of it (<c>mail.smiledental.example</c> for <c>smiledental.example</c>).</summary>
    private bool Within(string domain) =>
        domain.Length > 0 && (domain == _domain || domain.EndsWith("." + _domain, StringComparison.Ordinal));


    // Ids 4340-4349 of direct delivery's 4300-4349.
    [LoggerMessage(EventId = 4340, Level = LogLevel.Warning, Message = "Direct delivery is on without Direct:Dkim:Domain, Selector and KeyPath: directly delivered mail goes out unsigned, and DMARC at recipients' servers may reject or junk it")]
    private static partial void LogUnsigned(ILogger logger);

    [LoggerMessage(EventId = 4341, Level = LogLevel.Information, Message = "Direct delivery DKIM-signs for d={SigningDomain} s={Selector} ({KeyBits}-bit RSA)")]
    private static partial void LogSigning(ILogger logger, string signingDomain, string selector, int keyBits);

    [LoggerMessage(EventId = 4342, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: DKIM-signed ({HeaderCount} headers)")]
    private static partial void LogSigned(ILogger logger, string deliveryId, int headerCount);

    [LoggerMessage(EventId = 4343, Level = LogLevel.Debug, Message = "Delivery {DeliveryId}: not DKIM-signed: {Reason}")]
    private static partial void LogNotSigned(ILogger logger, string deliveryId, string reason);
}
