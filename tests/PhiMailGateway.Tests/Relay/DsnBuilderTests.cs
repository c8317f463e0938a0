using System.Text;
using MimeKit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Tests.Relay;

public class DsnBuilderTests
{
    private static readonly DateTimeOffset Arrival = new(2025, 4, 1, 10, 0, 0, TimeSpan.Zero);

    private static DsnBuilder Builder() => new(new GatewayOptions { HostName = "gateway.test" });

    private static MimeMessage Reparse(MimeMessage dsn)
    {
        var bytes = new MemoryStream();
        DsnBuilder.WriteTo(dsn, bytes);
        bytes.Position = 0;
        return MimeMessage.Load(bytes);
    }

    /// <summary>
    /// Per-recipient groups. The last group ends with a blank line before the boundary (as Postfix
    /// writes it too); MimeKit's parser turns that into an empty trailing group, which is skipped.
    /// </summary>
    private static HeaderList[] RecipientGroups(MessageDeliveryStatus status) =>
        status.StatusGroups.Skip(1).Where(g => g.Count > 0).ToArray();

    [Test]
    public void DsnBuilder_FailedRecipients_BuildsParseableRfc3464Report()
    {
        var failed = new[]
        {
            new RecipientOutcome("nobody@smilelab.example", RecipientStatus.Failed, 550, "550 5.1.1 No such user"),
            new RecipientOutcome("full@smilelab.example", RecipientStatus.Failed, 554, "554 Transaction failed"),
        };

        var dsn = Reparse(Builder().Build("frontdesk@practice.example", "0195F0A1B2C3D4E5F6A7", Arrival, failed,
            new MemoryStream(SmarthostRelayTests.TrickyMessage), expired: false));

        Assert.That(dsn.From.Mailboxes.Single().Address, Is.EqualTo("MAILER-DAEMON@gateway.test"));
        Assert.That(dsn.To.Mailboxes.Single().Address, Is.EqualTo("frontdesk@practice.example"));
        Assert.That(dsn.Subject, Is.EqualTo("Undelivered Mail Returned to Sender"));
        Assert.That(dsn.Headers["Auto-Submitted"], Is.EqualTo("auto-replied"));

        var report = dsn.Body as MultipartReport;
        Assert.That(report, Is.Not.Null, "multipart/report");
        Assert.That(report!.ReportType, Is.EqualTo("delivery-status"));
        Assert.That(report, Has.Count.EqualTo(3));
        Assert.That(report[0], Is.InstanceOf<TextPart>());
        Assert.That(((TextPart)report[0]).Text, Does.Contain("nobody@smilelab.example").And.Contain("550 5.1.1 No such user"));

        var status = report[1] as MessageDeliveryStatus;
        Assert.That(status, Is.Not.Null, "message/delivery-status");
        Assert.That(status!.StatusGroups[0]["Reporting-MTA"], Is.EqualTo("dns; gateway.test"));
        Assert.That(status.StatusGroups[0]["Arrival-Date"], Is.Not.Empty);
        var groups = RecipientGroups(status);
        Assert.That(groups.Select(g => g["Final-Recipient"]), Is.EqualTo(new[] { "rfc822; nobody@smilelab.example", "rfc822; full@smilelab.example" }));
        Assert.That(groups.Select(g => g["Action"]), Is.All.EqualTo("failed"));
        Assert.That(groups.Select(g => g["Status"]), Is.EqualTo(new[] { "5.1.1", "5.0.0" }));
        Assert.That(groups.Select(g => g["Status"]), Is.All.Match("^5\\.\\d+\\.\\d+$"));
        Assert.That(groups[0]["Diagnostic-Code"], Is.EqualTo("smtp; 550 5.1.1 No such user"));
    }

    [Test]
    public void DsnBuilder_OriginalHeadersPart_HasHeadersButNoBody()
    {
        var failed = new[] { new RecipientOutcome("nobody@smilelab.example", RecipientStatus.Failed, 550, "550 5.1.1 No such user") };

        var dsn = Reparse(Builder().Build("frontdesk@practice.example", "Q1", Arrival, failed,
            new MemoryStream(SmarthostRelayTests.TrickyMessage), expired: false));

        var report = (MultipartReport)dsn.Body!;
        Assert.That(report[2].ContentType.MimeType, Is.EqualTo("text/rfc822-headers"));
        var part = new MemoryStream();
        report[2].WriteTo(part);
        var text = Encoding.UTF8.GetString(part.ToArray());
        Assert.That(text, Does.Contain("Message-ID: <tricky.1@practice.example>"));
        Assert.That(text, Does.Contain("X-Odd:value-without-space"));
        Assert.That(text, Does.Not.Contain("preamble"), "never the body");
        Assert.That(text, Does.Not.Contain("Grüße"), "never the body");
        Assert.That(text, Does.Not.Contain("AAECAwQF"), "never attachments");

        var whole = new MemoryStream();
        DsnBuilder.WriteTo(dsn, whole);
        Assert.That(Encoding.UTF8.GetString(whole.ToArray()), Does.Not.Contain("8-bit body"), "nowhere in the DSN");
    }

    [Test]
    public void DsnBuilder_Expired_UsesStatus447WithoutReplyCode()
    {
        var failed = new[]
        {
            new RecipientOutcome("lab@smilelab.example", RecipientStatus.Deferred, 0, "Connection to the smarthost failed"),
            new RecipientOutcome("busy@smilelab.example", RecipientStatus.Deferred, 451, "451 4.2.0 Mailbox busy"),
        };

        var dsn = Reparse(Builder().Build("frontdesk@practice.example", "Q1", Arrival, failed, new MemoryStream(SmarthostRelayTests.TrickyMessage), expired: true));

        var groups = RecipientGroups((MessageDeliveryStatus)((MultipartReport)dsn.Body!)[1]);
        Assert.That(groups[0]["Status"], Is.EqualTo("4.4.7"));
        Assert.That(groups[0].Contains("Diagnostic-Code"), Is.False, "no upstream reply to quote");
        Assert.That(groups[1]["Status"], Is.EqualTo("4.2.0"));
        Assert.That(groups.Select(g => g["Action"]), Is.All.EqualTo("failed"));
    }

    [TestCase("", false)]
    [TestCase("  ", false)]
    [TestCase("<>", false)]
    [TestCase("frontdesk@practice.example", true)]
    public void DsnBuilder_ShouldBounce_NeverForTheNullSender(string sender, bool expected)
    {
        Assert.That(DsnBuilder.ShouldBounce(sender), Is.EqualTo(expected));
    }

    [Test]
    public void DsnBuilder_EmptySender_Throws()
    {
        var failed = new[] { new RecipientOutcome("a@b.example", RecipientStatus.Failed, 550, "550 no") };
        Assert.Throws<ArgumentException>(() => Builder().Build("", "Q1", Arrival, failed, new MemoryStream(), expired: false));
    }
}
