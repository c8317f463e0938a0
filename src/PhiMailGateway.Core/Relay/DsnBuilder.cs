// STUB until the relay branch merges; replaced by its implementation.
using MimeKit;
namespace PhiMailGateway.Relay;
public sealed class DsnBuilder
{
    public static bool ShouldBounce(string sender) => !string.IsNullOrEmpty(sender);
    public MimeMessage Build(string originalSender, string queueId, DateTimeOffset arrival, IReadOnlyList<RecipientOutcome> failed, Stream originalContent, bool expired)
    {
        var m = new MimeMessage();
        m.From.Add(new MailboxAddress("Mail Delivery System", "MAILER-DAEMON@localhost"));
        m.To.Add(MailboxAddress.Parse(originalSender));
        m.Subject = "Undelivered Mail Returned to Sender";
        m.Body = new TextPart("plain") { Text = string.Join("\n", failed.Select(f => $"{f.Recipient}: {f.Code}")) };
        return m;
    }
}
