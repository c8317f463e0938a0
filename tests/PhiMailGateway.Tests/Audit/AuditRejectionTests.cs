using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

public class AuditRejectionTests
{
    [Test]
    public async Task DisclosureLog_RejectRule_WritesRejectRecordsAndRejectedEvents()
    {
        using var data = new TempDirectory();
        await using (var gw = await TestGateway.StartAsync(AuditTestKit.RelayImages("Reject"), dataDirectory: data.Path))
        {
            await gw.AddUserAsync("frontdesk", "correct horse");
            await RelayEndToEndTests.SubmitAsync(gw, AuditTestKit.DicomMessage(), "dr.lee@specialist.example", "lab@smilelab.example");
            await AuditTestKit.WaitForEventsAsync(data.Path, "Rejected", 2);
        }

        var entries = await AuditTestKit.ExportJsonAsync(data.Path, "--patient", DentalCorpus.PatientId);
        Assert.That(entries.Select(e => e.GetProperty("recipient_address").GetString()),
            Is.EquivalentTo(new[] { "dr.lee@specialist.example", "lab@smilelab.example" }));
        foreach (var e in entries)
        {
            Assert.That(e.GetProperty("method").GetString(), Is.EqualTo("Reject"));
            Assert.That(e.GetProperty("outcome").GetString(), Is.EqualTo("rejected"));
            Assert.That(e.GetProperty("rule").GetString(), Is.EqualTo("images-reject"));
            Assert.That(e.GetProperty("delivery_id").ValueKind, Is.EqualTo(System.Text.Json.JsonValueKind.Null), "nothing was queued for them");
        }
        var (code, output, _) = await AuditTestKit.CliAsync(data.Path, "audit", "verify");
        Assert.That(code, Is.Zero, output);
    }
}
