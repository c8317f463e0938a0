using System.Text.Json;
using PhiMailGateway.Configuration;
using PhiMailGateway.Relay;

namespace PhiMailGateway.Tests.Relay;

public class DirectoryRelayTests
{
    private string _root = null!;

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("phimail-outbox-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private DirectoryRelay Relay() => new(new RelayOptions(), new GatewayOptions { DataDirectory = _root, HostName = "gateway.test" });

    private static RelayRequest Request(string id) =>
        new(id, "frontdesk@practice.example", ["lab@smilelab.example", "other@smilelab.example"],
            () => new MemoryStream(SmarthostRelayTests.TrickyMessage, writable: false), RequireTls: true);

    [Test]
    public async Task DirectoryRelay_Send_WritesExactBytesOwnerOnlyWithEnvelopeSidecar()
    {
        var relay = Relay();

        var outcomes = await relay.SendAsync(Request("0195F0A1B2C3D4E5F6A7"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Delivered));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(250));
        var eml = Path.Combine(_root, "outbox", "0195F0A1B2C3D4E5F6A7.eml");
        Assert.That(relay.MessagePath("0195F0A1B2C3D4E5F6A7"), Is.EqualTo(eml), "default outbox is <data>/outbox");
        Assert.That(await File.ReadAllBytesAsync(eml), Is.EqualTo(SmarthostRelayTests.TrickyMessage), "the .eml is exactly the content");
        if (!OperatingSystem.IsWindows())
            Assert.That(File.GetUnixFileMode(eml), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "owner-only");

        var envelope = JsonSerializer.Deserialize<OutboxEnvelope>(await File.ReadAllBytesAsync(relay.EnvelopePath("0195F0A1B2C3D4E5F6A7")));
        Assert.That(envelope, Is.Not.Null);
        Assert.That(envelope!.Sender, Is.EqualTo("frontdesk@practice.example"));
        Assert.That(envelope.Recipients, Is.EqualTo(new[] { "lab@smilelab.example", "other@smilelab.example" }));
        Assert.That(envelope.RequireTls, Is.True);
        Assert.That(Directory.GetFiles(relay.TempDirectory), Is.Empty, "no temp file left behind");
    }

    [Test]
    public async Task DirectoryRelay_SameDeliveryTwice_OverwritesWithSameBytes()
    {
        var relay = Relay();

        await relay.SendAsync(Request("D-1"), CancellationToken.None);
        var again = await relay.SendAsync(Request("D-1"), CancellationToken.None);

        Assert.That(again.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Delivered), "a retry after a crash is idempotent");
        Assert.That(await File.ReadAllBytesAsync(relay.MessagePath("D-1")), Is.EqualTo(SmarthostRelayTests.TrickyMessage));
    }

    [Test]
    public async Task DirectoryRelay_OutboxNotWritable_DefersAll()
    {
        var blocker = Path.Combine(_root, "not-a-folder");
        await File.WriteAllTextAsync(blocker, "a file where the outbox should be");
        var relay = new DirectoryRelay(new RelayOptions { OutboxDirectory = blocker }, new GatewayOptions { DataDirectory = _root });

        var outcomes = await relay.SendAsync(Request("D-1"), CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Deferred));
        Assert.That(outcomes.Select(o => o.Code), Is.All.EqualTo(0));
        Assert.That(outcomes[0].Response, Does.StartWith("Outbox write failed"));
    }

    [Test]
    public async Task DirectoryRelay_ContentStreamFails_DefersAllAndCommitsNothing()
    {
        var relay = Relay();
        var request = Request("D-1") with { OpenContent = () => throw new IOException("spool file vanished") };

        var outcomes = await relay.SendAsync(request, CancellationToken.None);

        Assert.That(outcomes.Select(o => o.Status), Is.All.EqualTo(RecipientStatus.Deferred));
        Assert.That(File.Exists(relay.MessagePath("D-1")), Is.False, "no .eml without its complete content");
        Assert.That(Directory.GetFiles(relay.TempDirectory), Is.Empty);
    }

    [Test]
    public void DirectoryRelay_PathLikeDeliveryId_IsRefused()
    {
        var relay = Relay();

        Assert.ThrowsAsync<ArgumentException>(() => relay.SendAsync(Request("../../etc/passwd"), CancellationToken.None));
    }
}
