using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;
using PhiMailGateway.Routing;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>
/// Recall and Revoke from the sender's page over a real SQLite queue, real pickup packages and the
/// real audit chain: a message with a pickup copy for Dr. Lee and a relayed copy for the lab, both
/// waiting out a five-minute send delay.
/// </summary>
public class SenderActionsTests
{
    private const string Lee = "dr.lee@endo-specialists.example";
    private const string Lab = "cases@crown-lab.example";
    private static readonly Origin Browser = new("192.0.2.7", "Firefox");

    private QueueTestBed _bed = null!;
    private ManualTimeProvider _time = null!;
    private GuardAuditBed _chain = null!;
    private SqlGuardHolds _holds = null!;
    private SqlAuditStore _audit = null!;
    private PickupPackageStore _packages = null!;
    private SenderActions _actions = null!;
    private string _queueId = null!;
    private string _leePackage = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        _chain = new GuardAuditBed(_bed, _time);
        (_audit, _holds) = (_chain.Audit, _chain.Holds);
        _packages = new PickupPackageStore(new SqlPickupPackages(_bed.Database, _time), MasterKey.LoadOrCreate(_bed.Options), _bed.Options,
            new PickupOptions(), _time);
        _actions = new SenderActions(_holds, _packages, _chain.Log, _bed.Spool, _time);

        _queueId = await _bed.AcceptAsync(Lee, Lab);
        var spoolPath = (await _bed.Queue.FindMessageAsync(_queueId, CancellationToken.None))!.SpoolPath;
        var notBefore = _time.GetUtcNow().AddMinutes(5);
        await _bed.Queue.CommitDisclosureAsync(new MessageDisposition(_queueId, MessageStates.Processed, null),
            [
                new NewDelivery(_queueId + "-1", "office@practice.example", [Lee], spoolPath, 0, nameof(RoutingAction.Pickup), null, false, false, notBefore),
                new NewDelivery(_queueId + "-2", "office@practice.example", [Lab], spoolPath, 0, nameof(RoutingAction.Relay), null, false, false, notBefore),
            ], [], GuardRecords.None, CancellationToken.None);
        var file = new PackageSource("xray.jpg", "image/jpeg", (s, ct) => s.WriteAsync(DentalCorpus.IntraoralPhotoJpeg(), ct).AsTask());
        // Written in another case than the copy's recipient: the same address.
        _leePackage = (await _packages.CreateAsync(_queueId, "Dr.Lee@Endo-Specialists.example", "office@practice.example", PickupScope.Attachments, [file],
            CancellationToken.None)).PackageId;
    }

    private Task AssertHeadNotedAsync() => _chain.AssertHeadNotedAsync();

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private Task<SenderView> ViewAsync() => _holds.SenderViewAsync(_queueId, CancellationToken.None);

    private async Task<IReadOnlyList<AuditEventRow>> EventsAsync() =>
        (await _audit.FindEventsAsync([_queueId], [], CancellationToken.None))
        .Where(e => e.Type is AuditEventTypes.Recalled or AuditEventTypes.PickupRevoked).ToList();

    private async Task<string> PackageStateAsync(string packageId) => (await ViewAsync()).Packages.Single(p => p.PackageId == packageId).State;

    private async Task<string> SpoolPathAsync() => (await _bed.Queue.FindMessageAsync(_queueId, CancellationToken.None))!.SpoolPath;

    [Test]
    public async Task Recall_APickupCopyDuringTheSendDelay_NeverLeavesAndItsPackageIsRevoked()
    {
        var recalled = await _actions.RecallAsync(await ViewAsync(), _queueId + "-1", Browser, CancellationToken.None);

        Assert.That(recalled, Is.True);
        var view = await ViewAsync();
        Assert.That(view.Copies.Single(c => c.Recipient == Lee).Status, Is.EqualTo(RecipientStates.Failed));
        Assert.That(view.Copies.Single(c => c.Recipient == Lab).Status, Is.EqualTo(RecipientStates.Pending), "only the recalled copy");
        Assert.That(view.Packages.Single().State, Is.EqualTo(PackageStates.Revoked), "nothing stays to be opened");

        var events = await EventsAsync();
        Assert.That(events.Select(e => (e.Type, e.Recipient, e.Detail)), Is.EqualTo(new[]
        {
            (AuditEventTypes.Recalled, Lee, "recalled by the sender during the send delay"),
            (AuditEventTypes.PickupRevoked, "Dr.Lee@Endo-Specialists.example", "revoked with its recalled copy"),
        }));
        Assert.That(events.All(e => e.ClientAddress == Browser.ClientAddress && e.UserAgent == Browser.UserAgent), Is.True);
        Assert.That(events[0].DeliveryId, Is.EqualTo(_queueId + "-1"));
        Assert.That(events[1].PackageId, Is.EqualTo(_leePackage));
        Assert.That(File.Exists(await SpoolPathAsync()), Is.True, "the lab's copy still waits");
    }

    [Test]
    public async Task Recall_ARelayedCopy_RecalledAndThePickupPackageOfAnotherRecipientStays()
    {
        Assert.That(await _actions.RecallAsync(await ViewAsync(), _queueId + "-2", Browser, CancellationToken.None), Is.True);
        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Active));
        Assert.That((await EventsAsync()).Select(e => e.Type), Is.EqualTo(new[] { AuditEventTypes.Recalled }));
        await AssertHeadNotedAsync();
    }

    [Test]
    public async Task Recall_EveryCopy_FinishesTheMessageAndDeletesItsFile()
    {
        var path = await SpoolPathAsync();
        Assert.That(await _actions.RecallAsync(await ViewAsync(), _queueId + "-1", Browser, CancellationToken.None), Is.True);
        Assert.That(File.Exists(path), Is.True);
        Assert.That(await _actions.RecallAsync(await ViewAsync(), _queueId + "-2", Browser, CancellationToken.None), Is.True);
        Assert.That(File.Exists(path), Is.False, "nothing of the message is left to send");
    }

    [Test]
    public async Task Recall_OnceTheCopyIsDue_FalseAndNothingChanges()
    {
        _time.Advance(TimeSpan.FromMinutes(5)); // due now: the worker may be sending it
        var recalled = await _actions.RecallAsync(await ViewAsync(), _queueId + "-1", Browser, CancellationToken.None);

        Assert.That(recalled, Is.False);
        Assert.That((await ViewAsync()).Copies.Single(c => c.Recipient == Lee).Status, Is.EqualTo(RecipientStates.Pending));
        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Active));
        Assert.That(await EventsAsync(), Is.Empty);
    }

    [Test]
    public async Task Recall_FromAPageReadBeforeTheCopyBecameDue_FalseAndNothingChanges()
    {
        var page = await ViewAsync(); // still says Recallable
        _time.Advance(TimeSpan.FromMinutes(5));

        Assert.That(await _actions.RecallAsync(page, _queueId + "-1", Browser, CancellationToken.None), Is.False, "the store decides, not the page");
        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Active));
        Assert.That(await EventsAsync(), Is.Empty);
    }

    [Test]
    public async Task Recall_ADeliveryOfAnotherMessage_False()
    {
        Assert.That(await _actions.RecallAsync(await ViewAsync(), "Q-other-1", Browser, CancellationToken.None), Is.False);
        Assert.That(await EventsAsync(), Is.Empty);
    }

    [Test]
    public async Task Revoke_AnUnopenedPackage_RevokedAndAudited()
    {
        Assert.That(await _actions.RevokeAsync(await ViewAsync(), _leePackage, Browser, CancellationToken.None), Is.True);

        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Revoked));
        var e = (await EventsAsync()).Single();
        Assert.That((e.Type, e.PackageId, e.Detail), Is.EqualTo((AuditEventTypes.PickupRevoked, _leePackage, "revoked by the sender from the receipt")));
        Assert.That((e.ClientAddress, e.UserAgent), Is.EqualTo((Browser.ClientAddress, Browser.UserAgent)));
        Assert.That((await ViewAsync()).Copies.Single(c => c.Recipient == Lee).Status, Is.EqualTo(RecipientStates.Pending), "the notice is another matter");
    }

    [Test]
    public async Task Revoke_AnOpenedPackage_FalseAndItStays()
    {
        Assert.That(await _packages.TryCountDownloadAsync(_leePackage, [0], CancellationToken.None), Is.True);
        Assert.That(await _actions.RevokeAsync(await ViewAsync(), _leePackage, Browser, CancellationToken.None), Is.False, "too late to matter");
        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Active));
        Assert.That(await EventsAsync(), Is.Empty);
    }

    [Test]
    public async Task Revoke_TwiceFromTheSamePage_OnlyTheFirstCountsAndIsAudited()
    {
        var page = await ViewAsync();
        Assert.That(await _actions.RevokeAsync(page, _leePackage, Browser, CancellationToken.None), Is.True);
        Assert.That(await _actions.RevokeAsync(page, _leePackage, Browser, CancellationToken.None), Is.False, "the store refuses, though the page still says Active");
        Assert.That(await _actions.RevokeAsync(await ViewAsync(), _leePackage, Browser, CancellationToken.None), Is.False, "the fresh page says Revoked");
        Assert.That((await EventsAsync()).Count, Is.EqualTo(1));
    }

    [Test]
    public async Task Revoke_AnExpiredPackage_False()
    {
        _time.Advance(new PickupOptions().LinkLifetime);
        await _packages.ExpireDueAsync(CancellationToken.None);
        Assert.That(await PackageStateAsync(_leePackage), Is.EqualTo(PackageStates.Expired));
        Assert.That(await _actions.RevokeAsync(await ViewAsync(), _leePackage, Browser, CancellationToken.None), Is.False);
        Assert.That(await EventsAsync(), Is.Empty);
    }

    [Test]
    public async Task Revoke_APackageOfAnotherMessage_False()
    {
        var file = new PackageSource("xray.jpg", "image/jpeg", (s, ct) => s.WriteAsync(DentalCorpus.IntraoralPhotoJpeg(), ct).AsTask());
        var other = await _packages.CreateAsync("Q-other", Lee, "office@practice.example", PickupScope.Attachments, [file], CancellationToken.None);

        Assert.That(await _actions.RevokeAsync(await ViewAsync(), other.PackageId, Browser, CancellationToken.None), Is.False);
        Assert.That((await _packages.FindAsync(other.PackageId, CancellationToken.None))!.State, Is.EqualTo(PackageStates.Active));
    }
}
