using Dapper;
using Microsoft.Extensions.DependencyInjection;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.EndToEnd;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

/// <summary>
/// Invariant 3 measured where it matters, at the smarthost: every shape of the fail-closed corpus
/// goes through the running gateway with the shipped rules, and no 64-byte slice of any of its
/// images may arrive in anything the smarthost receives. The control sends the same shape through a
/// gateway whose only rule relays everything: there the scanner must find the image, which proves
/// it can see into that shape (otherwise "nothing found" would prove nothing).
/// </summary>
[NonParallelizable]
public class FailClosedEndToEndTests
{
    private const string RelayEverything = """{ "Rules": [ { "Name": "relay-all-for-the-test", "Action": "Relay" } ] }""";

    private TempDirectory _data = null!;
    private FakeSmtpUpstream _protectingUpstream = null!;
    private FakeSmtpUpstream _controlUpstream = null!;
    private TestGateway _protecting = null!;
    private TestGateway _control = null!;

    public static IEnumerable<CorpusShape> Shapes() => FailClosedCorpus.All();

    [OneTimeSetUp]
    public async Task StartGateways()
    {
        _data = new TempDirectory();
        _protectingUpstream = await FakeSmtpUpstream.StartAsync();
        _controlUpstream = await FakeSmtpUpstream.StartAsync();
        _protecting = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(_protectingUpstream));
        using (TestConfig.Use(_data.Path, RelayEverything))
        {
            _control = await TestGateway.StartAsync(RelayEndToEndTests.SmarthostSettings(_controlUpstream));
        }
        await _protecting.AddUserAsync("frontdesk", "correct horse");
        await _control.AddUserAsync("frontdesk", "correct horse");
    }

    [OneTimeTearDown]
    public async Task StopGateways()
    {
        await _protecting.DisposeAsync();
        await _control.DisposeAsync();
        await _protectingUpstream.DisposeAsync();
        await _controlUpstream.DisposeAsync();
        _data.Dispose();
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task Shape_ThroughTheShippedRules_NoImageSliceReachesTheSmarthost(CorpusShape shape)
    {
        var received = await SendAndCollectAsync(_protecting, _protectingUpstream, shape);
        var found = ImageSliceScanner.FindImages(received, shape.Images);
        Assert.That(found, Is.Empty, $"{shape.Name}: image(s) {string.Join(", ", found)} reached the smarthost in the clear");
    }

    [TestCaseSource(nameof(Shapes))]
    public async Task Shape_RelayedUnprotectedByARule_ScannerFindsEveryImage(CorpusShape shape)
    {
        var received = await SendAndCollectAsync(_control, _controlUpstream, shape);
        var found = ImageSliceScanner.FindImages(received, shape.Images);
        Assert.That(found, Has.Count.EqualTo(shape.Images.Count), $"{shape.Name}: the scanner must see into this shape, or the protected test proves nothing");
    }

    /// <summary>Submits the shape to a recipient of its own and returns every copy that recipient got, once the message is finished.</summary>
    private static async Task<IReadOnlyList<byte[]>> SendAndCollectAsync(TestGateway gw, FakeSmtpUpstream upstream, CorpusShape shape)
    {
        var recipient = $"{shape.Name}@specialist.example";
        var queueId = await RelayEndToEndTests.SubmitAsync(gw, shape.Message, recipient);
        await RelayEndToEndTests.WaitUntilAsync(async () =>
        {
            await using var c = await gw.Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
            var state = await c.ExecuteScalarAsync<string?>("SELECT state FROM messages WHERE queue_id = @queueId", new { queueId });
            return state is "Done" or "Rejected" or "Held";
        }, $"message {queueId} ({shape.Name}) is finished");
        return upstream.Messages.Where(m => m.Recipients.Contains(recipient)).Select(m => m.Data).ToList();
    }
}
