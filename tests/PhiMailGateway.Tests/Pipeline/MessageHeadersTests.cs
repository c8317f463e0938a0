using System.Text;
using MimeKit;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Pipeline;

public class MessageHeadersTests
{
    private static async Task<MessageHeaders> ReadAsync(MimeMessage message)
    {
        using var bytes = new MemoryStream();
        await message.WriteToAsync(new FormatOptions { NewLineFormat = NewLineFormat.Dos }, bytes);
        bytes.Position = 0;
        return await MessageHeaders.ReadAsync(bytes, CancellationToken.None);
    }

    [Test]
    public async Task MessageHeaders_PlainTextMessage_HasTheFactsRoutingAndTheAuditUse()
    {
        var message = DentalCorpus.Message("Appointment [secure]");
        message.Headers.Add("Sensitivity", "Company-Confidential");
        message.MessageId = "appt-7@practice.example";
        message.Cc.Add(new MailboxAddress("Billing Office", "billing@practice.example"));
        message.Cc.Add(new GroupAddress("team", [new MailboxAddress("", "hygiene@practice.example")]));

        var headers = await ReadAsync(message);

        Assert.Multiple(() =>
        {
            Assert.That(headers.Subject, Is.EqualTo("Appointment [secure]"));
            Assert.That(headers.Sensitivity, Is.EqualTo("Company-Confidential"));
            Assert.That(headers.MessageId, Is.EqualTo("appt-7@practice.example"), "without angle brackets, as the audit stores it");
            Assert.That(headers.To, Is.EqualTo(new[] { "doctor@lab.example" }));
            Assert.That(headers.Cc, Is.EqualTo(new[] { "billing@practice.example", "hygiene@practice.example" }), "groups flattened");
            Assert.That(headers.RecipientNames["BILLING@practice.example"], Is.EqualTo("Billing Office"), "names by address, case-insensitive");
            Assert.That(headers.RecipientNames.ContainsKey("hygiene@practice.example"), Is.False, "no name given, none recorded");
            Assert.That(headers.HasBccHeader, Is.False);
            Assert.That(headers.SubjectHasAnyTag(["[SECURE]"]), Is.True);
            Assert.That(headers.SubjectHasAnyTag(["[encrypt]"]), Is.False);
        });
    }

    [Test]
    public async Task MessageHeaders_BccOrResentBcc_AreNoticed()
    {
        var bcc = DentalCorpus.Message("x");
        bcc.Bcc.Add(MailboxAddress.Parse("hidden@lab.example"));
        var resent = DentalCorpus.Message("x");
        resent.ResentBcc.Add(MailboxAddress.Parse("hidden@lab.example"));
        Assert.That((await ReadAsync(bcc)).HasBccHeader, Is.True);
        Assert.That((await ReadAsync(resent)).HasBccHeader, Is.True);
    }

    [Test]
    public async Task MessageHeaders_Empty_AreUnreadableNotACrash()
    {
        var headers = await MessageHeaders.ReadAsync(new MemoryStream(), CancellationToken.None);
        Assert.That(headers.Subject, Is.Null);
        Assert.That(headers.MessageId, Is.Null);
        Assert.That(headers.To, Is.Empty);
    }

    [Test]
    public async Task MessageHeaders_UnparsableAddressHeader_AddsNoAddressesButKeepsTheRest()
    {
        var raw = "From: frontdesk@practice.example\r\nTo: \"unterminated <\r\nSubject: Hello\r\n\r\nbody\r\n";
        var headers = await MessageHeaders.ReadAsync(new MemoryStream(Encoding.ASCII.GetBytes(raw)), CancellationToken.None);
        Assert.That(headers.Subject, Is.EqualTo("Hello"));
        Assert.That(headers.From, Is.EqualTo(new[] { "frontdesk@practice.example" }));
    }
}
