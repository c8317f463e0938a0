using System.Text;
using MimeKit;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.EndToEnd;

/// <summary>Routing through the running gateway: one message, one copy per action, Bcc kept private.</summary>
// Sets PHIMAIL_CONFIG (TestConfig) while a host is built: process-wide.
[NonParallelizable]
public class RoutingEndToEndTests
{
    private static readonly byte[] Message = Encoding.ASCII.GetBytes(
        "From: Front Desk <office@smiledental.example>\r\n" +
        "To: Dr. Lee <dr.lee@specialist.example>\r\n" +
        "Cc: tech@smilelab.example\r\n" +
        "Bcc: manager@smiledental.example\r\n" +
        "Subject: [secure] Referral\r\n" +
        "Message-ID: <split-1@smiledental.example>\r\n" +
        "MIME-Version: 1.0\r\n" +
        "Content-Type: text/plain\r\n" +
        "\r\n" +
        "Please see the patient next week.\r\n");

    private const string Rules = """
        { "Rules": [
          { "Name": "lab-tls", "When": { "RecipientDomains": [ "smilelab.example" ] }, "Action": "RequireTls" },
          { "Name": "no-blocked", "When": { "RecipientDomains": [ "blocked.example" ] }, "Action": "Reject", "Message": "This practice does not send to blocked.example." },
          { "Name": "images-pickup", "When": { "HasDentalImage": true }, "Action": "Pickup" },
          { "Name": "marked-secure", "When": { "SubjectContains": "[secure]", "RecipientDomains": [ "never.example" ] }, "Action": "Pickup" },
          { "Name": "everything-else", "Action": "Relay" }
        ] }
        """;

    [Test]
    public async Task Gateway_RecipientsWithDifferentActions_GetSeparateCopiesAndRejectedGetsDsn()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        TestGateway gw;
        using (TestConfig.Use(data.Path, Rules))
        {
            gw = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(upstream));
        }
        await using (gw)
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            await RelayEndToEndTests.SubmitAsync(gw, Message,
                "dr.lee@specialist.example", "tech@smilelab.example", "manager@smiledental.example", "someone@blocked.example");

            var messages = await upstream.WaitForMessagesAsync(3, TimeSpan.FromSeconds(20));
            Assert.That(messages, Has.Count.EqualTo(3));

            var lab = messages.Single(m => m.Recipients.Contains("tech@smilelab.example"));
            Assert.That(lab.Recipients, Is.EqualTo(new[] { "tech@smilelab.example" }), "the RequireTls copy is its own");
            Assert.That(lab.Secure, Is.True);

            var relayed = messages.Single(m => m.Recipients.Contains("dr.lee@specialist.example"));
            Assert.That(relayed.Recipients, Is.EquivalentTo(new[] { "dr.lee@specialist.example", "manager@smiledental.example" }));

            foreach (var copy in new[] { lab, relayed })
            {
                var parsed = MimeMessage.Load(new MemoryStream(copy.Data));
                Assert.That(parsed.Headers.Contains(HeaderId.Bcc), Is.False, "a Bcc recipient never shows in anyone's copy");
                Assert.That(Encoding.ASCII.GetString(copy.Data), Does.Not.Contain("manager@smiledental.example"));
                Assert.That(parsed.Subject, Is.EqualTo("Referral"), "the rule tag is removed from the subject");
                Assert.That(parsed.TextBody, Does.Contain("Please see the patient next week."));
            }

            var bounce = messages.Single(m => m.Sender == "");
            Assert.That(bounce.Recipients, Is.EqualTo(new[] { RelayEndToEndTests.Sender }));
            var dsn = Encoding.UTF8.GetString(bounce.Data);
            Assert.That(dsn, Does.Contain("Final-Recipient: rfc822; someone@blocked.example"));
            Assert.That(dsn, Does.Contain("This practice does not send to blocked.example."));
            Assert.That(dsn, Does.Not.Contain("Final-Recipient: rfc822; tech@").And.Not.Contain("Final-Recipient: rfc822; dr.lee"), "only the refused recipient is reported");
        }
    }

    [Test]
    public async Task Gateway_RecipientNoRuleMatches_HoldsTheMessageAndSendsNothing()
    {
        using var data = new TempDirectory();
        await using var upstream = await FakeSmtpUpstream.StartAsync();
        TestGateway gw;
        using (TestConfig.Use(data.Path, """{ "Rules": [ { "Name": "lab-only", "When": { "RecipientDomains": [ "smilelab.example" ] }, "Action": "Relay" } ] }"""))
        {
            gw = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(upstream));
        }
        await using (gw)
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            var eml = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "samples", "xray-dicom.eml"));
            var queueId = await RelayEndToEndTests.SubmitAsync(gw, eml, "tech@smilelab.example", "dr.lee@specialist.example");
            await RelayEndToEndTests.WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(gw.Spool.Hold, queueId + ".msg"))), "the message is held");
            Assert.That(upstream.Messages, Is.Empty, "nothing leaves on a default nobody wrote, not even to the recipient a rule covers");
        }
    }
}
