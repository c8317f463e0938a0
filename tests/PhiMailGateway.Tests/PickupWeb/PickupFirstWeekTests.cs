using MimeKit;
using PhiMailGateway.Cli;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.PickupWeb;

/// <summary>Issue 22 item 10, IT's side of pickup: telling packages apart in `pickup list`, and the notice's contact line.</summary>
public class PickupFirstWeekTests
{
    [Test]
    public async Task PickupList_TwoPackagesForOneAddress_ShowQueueIdMessageIdAndSubject()
    {
        await using var bed = await PickupTestBed.StartAsync();
        const string recipient = "patient@home.example";
        var first = PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "[secure] Bitewings, March");
        first.MessageId = "first-xray@smiledental.example";
        var second = PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg(), subject: "[secure] Panoramic, April");
        second.MessageId = "second-xray@smiledental.example";
        await bed.SendAsync(first, recipient);
        await PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.SubmitAsync(bed.Gateway, PickupTestBed.Wire(second), recipient);
        await PhiMailGateway.Tests.EndToEnd.RelayEndToEndTests.WaitUntilAsync(
            async () => await bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_packages", null) == 2, "both packages exist");
        var queueIds = (await bed.QueryAsync<string>("SELECT group_concat(queue_id, ' ') FROM pickup_packages", null)).Split(' ');

        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["pickup", "list", $"--Gateway:DataDirectory={bed.Gateway.DataDirectory}"], TextReader.Null, stdout, stderr);

        Assert.That(code, Is.Zero, stderr.ToString());
        var lines = stdout.ToString().Split('\n');
        var rows = lines.Where(l => l.StartsWith("pk_", StringComparison.Ordinal)).ToList();
        Assert.That(rows, Has.Count.EqualTo(2), stdout.ToString());
        Assert.That(rows, Has.One.Contains("<first-xray@smiledental.example>").And.One.Contains("Bitewings, March"), stdout.ToString());
        Assert.That(rows, Has.One.Contains("<second-xray@smiledental.example> \"Panoramic, April\""), stdout.ToString());
        Assert.That(queueIds.All(q => rows.Count(r => r.Contains(q, StringComparison.Ordinal)) == 1), Is.True, "each line names its queue id: " + stdout);
        Assert.That(lines[0], Does.Contain("QUEUE ID").And.Contain("MESSAGE-ID / SUBJECT"));
    }

    [Test]
    public async Task PickupPurge_DeletesTheSealedSubject()
    {
        await using var bed = await PickupTestBed.StartAsync();
        var delivery = await bed.SendAsync(PickupTestBed.XrayMessage(DentalCorpus.PanoramicJpeg()), "patient@home.example");
        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_labels WHERE package_id = @id AND sealed_subject IS NOT NULL", new { id = delivery.PackageId }), Is.EqualTo(1));
        var raw = await bed.QueryAsync<byte[]>("SELECT sealed_subject FROM pickup_labels WHERE package_id = @id", new { id = delivery.PackageId });
        Assert.That(System.Text.Encoding.UTF8.GetString(raw), Does.Not.Contain("Referral"), "the subject is sealed at rest");

        await bed.Store.PurgeAsync(delivery.PackageId, CancellationToken.None);

        Assert.That(await bed.QueryAsync<long>("SELECT COUNT(*) FROM pickup_labels WHERE package_id = @id", new { id = delivery.PackageId }), Is.Zero,
            "the subject does not outlive the files");
    }

    [Test]
    public void PickupNotice_ContactIsAPhoneNumberInBrackets_NoDoubledBrackets()
    {
        var options = new PickupOptions { PracticeName = "Smile Dental", PracticeContact = "(555) 010-0100" };

        var notice = (Multipart)PickupNotice.Build(options, 1, "https://pickup.example/p/x", DateTimeOffset.UtcNow.AddDays(14), restOfMessageFollows: false);
        var text = notice.OfType<TextPart>().Select(p => p.Text).ToList();

        Assert.That(text, Has.Count.GreaterThanOrEqualTo(2), "plain and HTML");
        foreach (var body in text)
        {
            Assert.That(body, Does.Not.Contain("((555)"), body);
            Assert.That(body, Does.Contain("Smile Dental at (555) 010-0100"));
        }
    }
}
