using System.Text;
using System.Text.RegularExpressions;
using MimeKit;
using MimeKit.Utils;
using PhiMailGateway.Configuration;

namespace PhiMailGateway.Relay;

/// <summary>
/// Builds the bounce (RFC 3464 delivery status notification) for recipients the relay gave up on:
/// multipart/report with a human explanation, message/delivery-status, and the original's headers
/// as text/rfc822-headers. Never the original body: it may hold PHI, and the sender has it anyway.
/// The caller sends the result with an empty reverse-path and never bounces a bounce
/// (<see cref="ShouldBounce"/>).
/// </summary>
public sealed partial class DsnBuilder
{
    public const string Subject = "Undelivered Mail Returned to Sender";

    /// <summary>How to write a DSN to the spool or outbox: CRLF line ends whatever the platform.</summary>
    public static readonly FormatOptions CrLf = CreateCrLf();

    private readonly string _hostName;
    private readonly TimeProvider _time;

    public DsnBuilder(GatewayOptions gateway, TimeProvider? time = null)
    {
        _hostName = gateway.HostName;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>False for the null reverse-path: bounces, and other DSNs, never get a bounce of their own (RFC 5321 6.1).</summary>
    public static bool ShouldBounce(string? sender) => !string.IsNullOrWhiteSpace(sender) && sender.Trim() != "<>";

    /// <param name="originalSender">Envelope sender of the original; the DSN goes to it.</param>
    /// <param name="queueId">Our id for the original, quoted so staff can ask IT about it.</param>
    /// <param name="arrival">When the gateway accepted the original.</param>
    /// <param name="failed">Recipients given up on, with the last upstream reply (code 0: no reply, our own diagnostic).</param>
    /// <param name="originalContent">The original message; only its header block is read.</param>
    /// <param name="expired">True when the queue lifetime ran out (status 4.4.7 unless the reply says better).</param>
    public MimeMessage Build(string originalSender, string queueId, DateTimeOffset arrival, IReadOnlyList<RecipientOutcome> failed, Stream originalContent, bool expired)
    {
        if (!ShouldBounce(originalSender))
            throw new ArgumentException("A message with an empty sender is never bounced.", nameof(originalSender));
        if (failed.Count == 0) throw new ArgumentException("Nothing to report.", nameof(failed));

        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Mail Delivery System", "MAILER-DAEMON@" + _hostName));
        message.To.Add(new MailboxAddress(string.Empty, originalSender));
        message.Subject = Subject;
        message.Date = _time.GetUtcNow();
        message.MessageId = MimeUtils.GenerateMessageId(_hostName);
        message.Headers.Add("Auto-Submitted", "auto-replied");

        var report = new MultipartReport("delivery-status");
        report.Add(new TextPart("plain") { Text = HumanText(queueId, failed, expired) });
        report.Add(DeliveryStatus(queueId, arrival, failed, expired));
        report.Add(OriginalHeaders(originalContent));
        message.Body = report;
        return message;
    }

    private string HumanText(string queueId, IReadOnlyList<RecipientOutcome> failed, bool expired)
    {
        var text = new StringBuilder();
        text.Append("This is the mail system at host ").Append(_hostName).Append(".\r\n\r\n");
        text.Append(expired
            ? "Your message could not be delivered to the recipients below before the time allowed for\r\ndelivery ran out. The gateway has stopped trying.\r\n"
            : "Your message could not be delivered to the recipients below.\r\n");
        text.Append("The message itself is not attached; the headers of your message follow for reference.\r\n\r\n");
        text.Append("Queue id: ").Append(queueId).Append("\r\n\r\n");
        foreach (var outcome in failed)
            text.Append('<').Append(outcome.Recipient).Append(">: ").Append(OneLine(outcome.Response)).Append("\r\n");
        return text.ToString();
    }

    private MessageDeliveryStatus DeliveryStatus(string queueId, DateTimeOffset arrival, IReadOnlyList<RecipientOutcome> failed, bool expired)
    {
        var status = new MessageDeliveryStatus();
        var perMessage = new HeaderList
        {
            { "Reporting-MTA", "dns; " + _hostName },
            { "X-PhiMail-Queue-ID", queueId },
            { "Arrival-Date", DateUtils.FormatDate(arrival) },
        };
        status.StatusGroups.Add(perMessage);

        foreach (var outcome in failed)
        {
            var group = new HeaderList
            {
                { "Final-Recipient", "rfc822; " + outcome.Recipient },
                { "Action", "failed" },
                { "Status", StatusCode(outcome, expired) },
            };
            if (outcome.Code != 0) group.Add("Diagnostic-Code", "smtp; " + OneLine(outcome.Response));
            status.StatusGroups.Add(group);
        }
        return status;
    }

    /// <summary>The reply's enhanced status code (RFC 3463) when it has one that fits; else 4.4.7 for expiry, 5.0.0 otherwise.</summary>
    internal static string StatusCode(RecipientOutcome outcome, bool expired)
    {
        var match = EnhancedCode().Match(outcome.Response ?? string.Empty);
        if (match.Success)
        {
            var code = match.Groups["code"].Value;
            if (code[0] == '5' || (expired && code[0] == '4')) return code;
        }
        if (expired && outcome.Code is 0 or (>= 400 and < 500)) return "4.4.7";
        return "5.0.0";
    }

    /// <summary>
    /// The original's header block, raw, as a text/rfc822-headers part. A plain MimePart rather than
    /// MimeKit's TextRfc822Headers, whose MimeMessage would drop Content-* fields and invent Date and
    /// Message-Id; readers (MimeKit included) still parse it as TextRfc822Headers.
    /// </summary>
    private static MimePart OriginalHeaders(Stream originalContent)
    {
        var content = new MemoryStream();
        try
        {
            // Parses up to the blank line that ends the header block; the body is never read.
            var headers = HeaderList.Load(originalContent);
            headers.WriteTo(CrLf, content);
        }
        catch (FormatException)
        {
            // Unparseable headers: report without them rather than not report at all.
            content.SetLength(0);
        }
        var eightBit = content.GetBuffer().AsSpan(0, (int)content.Length).IndexOfAnyInRange((byte)0x80, (byte)0xFF) >= 0;
        content.Position = 0;
        return new MimePart("text", "rfc822-headers")
        {
            Content = new MimeContent(content),
            ContentTransferEncoding = eightBit ? ContentEncoding.EightBit : ContentEncoding.SevenBit,
        };
    }

    /// <summary>Writes a built DSN as relay content (CRLF line ends), e.g. into the outbound spool.</summary>
    public static void WriteTo(MimeMessage dsn, Stream destination) => dsn.WriteTo(CrLf, destination);

    private static FormatOptions CreateCrLf()
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        return options;
    }

    private static string OneLine(string? text) =>
        string.IsNullOrEmpty(text) ? string.Empty : LineBreaks().Replace(text, " ").Trim();

    [GeneratedRegex(@"(?:^|\s)(?<code>[245]\.\d{1,3}\.\d{1,3})(?=\s|$)")]
    private static partial Regex EnhancedCode();

    [GeneratedRegex(@"[\r\n]+")]
    private static partial Regex LineBreaks();
}
