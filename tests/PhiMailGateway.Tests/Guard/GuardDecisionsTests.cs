using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>
/// "Send anyway" and "Don't send" over a real SQLite queue, guard store and audit chain: a held
/// copy committed as the pipeline commits it, then decided as the sender's page or the CLI does.
/// </summary>
public class GuardDecisionsTests
{
    private const string Lab = "Cases@Crown-Lab.example";

    private QueueTestBed _bed = null!;
    private ManualTimeProvider _time = null!;
    private GuardAuditBed _chain = null!;
    private SqlGuardHolds _holds = null!;
    private SqlGuardStore _store = null!;
    private SqlAuditStore _audit = null!;
    private ProcessingSignal _signal = null!;
    private GuardDecisions _decisions = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        _chain = new GuardAuditBed(_bed, _time);
        (_audit, _holds) = (_chain.Audit, _chain.Holds);
        _store = new SqlGuardStore(_bed.Database);
        _signal = new ProcessingSignal();
        _decisions = new GuardDecisions(_holds, _store, _chain.Log, _bed.Spool, _signal, _time);
    }

    private Task AssertHeadNotedAsync() => _chain.AssertHeadNotedAsync();

    [TearDown]
    public void TearDown() => _bed.Dispose();

    /// <summary>A message whose only copy, to <paramref name="recipient"/>, the guard held for an hour.</summary>
    private async Task<GuardHold> HeldAsync(string recipient = Lab)
    {
        var id = await _bed.AcceptAsync(recipient);
        var reason = new GuardReason(GuardCheck.Lookalike, GuardAction.Hold, "looks like crown-lab.example, which you have sent to before");
        var hold = new NewGuardHold(id + "-H1", recipient, [reason], _time.GetUtcNow().AddHours(1));
        await _bed.Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [], [], new GuardRecords([hold], null),
            CancellationToken.None);
        return (await _holds.FindAsync(hold.HoldId, CancellationToken.None))!;
    }

    private async Task<GuardHold> ReadAsync(GuardHold hold) => (await _holds.FindAsync(hold.HoldId, CancellationToken.None))!;

    private async Task<IReadOnlyList<AuditEventRow>> EventsAsync(GuardHold hold) =>
        (await _audit.FindEventsAsync([hold.QueueId], [], CancellationToken.None)).Where(e => e.Type.StartsWith("Guard", StringComparison.Ordinal)).ToList();

    private async Task<string> SpoolPathAsync(GuardHold hold) => (await _bed.Queue.FindMessageAsync(hold.QueueId, CancellationToken.None))!.SpoolPath;

    private bool Signalled() => _signal.WaitAsync(TimeSpan.Zero, CancellationToken.None).GetAwaiter().GetResult();

    [Test]
    public async Task Release_HeldCopy_ReleasedAuditedWithItsOriginAndTheAddressKnown()
    {
        var hold = await HeldAsync();
        var released = await _decisions.ReleaseAsync(hold, "sender", "the lab moved", new Origin("192.0.2.7", "Firefox"), CancellationToken.None);

        Assert.That(released, Is.True);
        var after = await ReadAsync(hold);
        Assert.That(after.State, Is.EqualTo(GuardHoldStates.Released));
        Assert.That(after.DecidedBy, Is.EqualTo("sender"));
        Assert.That(after.DecisionReason, Is.EqualTo("the lab moved"));
        var e = (await EventsAsync(hold)).Single();
        Assert.That(e.Type, Is.EqualTo(AuditEventTypes.GuardConfirmed));
        Assert.That(e.Recipient, Is.EqualTo(Lab));
        Assert.That(e.Detail, Is.EqualTo($"{hold.HoldId} by sender: the lab moved"));
        Assert.That((e.ClientAddress, e.UserAgent), Is.EqualTo(("192.0.2.7", "Firefox")));

        var known = (await _store.ListKnownAsync(CancellationToken.None)).Single();
        Assert.That(known.Entry, Is.EqualTo("cases@crown-lab.example"), "normalised, so the next message to it passes");
        Assert.That((known.Source, known.AddedBy), Is.EqualTo((KnownSources.Confirmed, "sender")));
        Assert.That(Signalled(), Is.True, "the queue worker is woken to make the copy");
        Assert.That(File.Exists(await SpoolPathAsync(hold)), Is.True, "the release reads the message again");
        await AssertHeadNotedAsync();
    }

    [Test]
    public async Task Cancel_TheOnlyHeldCopy_CancelledFinishesTheMessageAndDeletesItsFile()
    {
        var hold = await HeldAsync();
        var path = await SpoolPathAsync(hold);
        Assert.That(File.Exists(path), Is.True);

        var cancelled = await _decisions.CancelAsync(hold, "IT (frontdesk)", null, null, CancellationToken.None);

        Assert.That(cancelled, Is.True);
        Assert.That((await ReadAsync(hold)).State, Is.EqualTo(GuardHoldStates.Cancelled));
        var e = (await EventsAsync(hold)).Single();
        Assert.That(e.Type, Is.EqualTo(AuditEventTypes.GuardCancelled));
        Assert.That(e.Detail, Is.EqualTo($"{hold.HoldId} by IT (frontdesk)"), "no reason given, none written");
        Assert.That(e.ClientAddress, Is.Null, "the CLI has no origin");
        Assert.That(await _store.ListKnownAsync(CancellationToken.None), Is.Empty, "\"don't send\" teaches nothing");
        Assert.That((await _bed.Queue.FindMessageAsync(hold.QueueId, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Done));
        Assert.That(File.Exists(path), Is.False, "nothing waits for the message any more");
        Assert.That(Signalled(), Is.True);
    }

    [Test]
    public async Task Release_AfterTheCopyWasCancelled_FalseAndNothingChanges()
    {
        var hold = await HeldAsync();
        Assert.That(await _decisions.CancelAsync(hold, "sender", null, null, CancellationToken.None), Is.True);
        Assert.That(Signalled(), Is.True);

        var released = await _decisions.ReleaseAsync(hold, "IT (admin)", "too late", null, CancellationToken.None);

        Assert.That(released, Is.False, "a copy is decided once");
        Assert.That((await ReadAsync(hold)).State, Is.EqualTo(GuardHoldStates.Cancelled));
        Assert.That((await EventsAsync(hold)).Select(e => e.Type), Is.EqualTo(new[] { AuditEventTypes.GuardCancelled }));
        Assert.That(await _store.ListKnownAsync(CancellationToken.None), Is.Empty, "the address is not made known by a refused release");
        Assert.That(Signalled(), Is.False, "nothing new for the worker");
    }

    [Test]
    public async Task Release_WhenTheConfirmWindowHasJustPassed_FalseAndLeftHeldForTheExpiry()
    {
        var hold = await HeldAsync();
        _time.Advance(TimeSpan.FromHours(1)); // exactly at ExpiresAt: the window is over

        var released = await _decisions.ReleaseAsync(hold, "sender", null, null, CancellationToken.None);

        Assert.That(released, Is.False);
        Assert.That((await ReadAsync(hold)).State, Is.EqualTo(GuardHoldStates.Held), "the expiry cancels it, with its notice to the sender");
        Assert.That(await EventsAsync(hold), Is.Empty);
        Assert.That(await _store.ListKnownAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Release_JustBeforeTheWindowEnds_Released()
    {
        var hold = await HeldAsync();
        _time.Advance(TimeSpan.FromHours(1) - TimeSpan.FromMilliseconds(1));
        Assert.That(await _decisions.ReleaseAsync(hold, "sender", null, null, CancellationToken.None), Is.True);
    }

    [Test]
    public async Task Release_RecipientWithoutADomain_ReleasedButNothingMadeKnown()
    {
        var hold = await HeldAsync("postmaster");
        Assert.That(await _decisions.ReleaseAsync(hold, "sender", null, null, CancellationToken.None), Is.True);
        Assert.That(await _store.ListKnownAsync(CancellationToken.None), Is.Empty, "not an address the checks could ever compare with");
    }

    [TestCase("\tthe lab\r\nmoved \u0007", "the lab  moved")]
    [TestCase("  plain  ", "plain")]
    public async Task Decide_ReasonWithControlCharactersAndSpaces_KeptAsOneTrimmedLine(string typed, string kept)
    {
        var hold = await HeldAsync();
        await _decisions.CancelAsync(hold, "sender", typed, null, CancellationToken.None);
        Assert.That((await ReadAsync(hold)).DecisionReason, Is.EqualTo(kept));
        Assert.That((await EventsAsync(hold)).Single().Detail, Is.EqualTo($"{hold.HoldId} by sender: {kept}"));
    }

    [TestCase(" \r\n\t ")]
    [TestCase("")]
    public async Task Decide_ReasonOfOnlySpaceAndControlCharacters_NoReason(string typed)
    {
        var hold = await HeldAsync();
        await _decisions.ReleaseAsync(hold, "sender", typed, null, CancellationToken.None);
        Assert.That((await ReadAsync(hold)).DecisionReason, Is.Null);
        Assert.That((await EventsAsync(hold)).Single().Detail, Is.EqualTo($"{hold.HoldId} by sender"));
    }

    [TestCase(GuardDecisions.MaxReasonLength, GuardDecisions.MaxReasonLength)]
    [TestCase(GuardDecisions.MaxReasonLength + 1, GuardDecisions.MaxReasonLength)]
    [TestCase(GuardDecisions.MaxReasonLength - 1, GuardDecisions.MaxReasonLength - 1)]
    public async Task Decide_LongReason_CutToTheLongestKept(int typedLength, int keptLength)
    {
        var hold = await HeldAsync();
        var typed = string.Concat(Enumerable.Range(0, typedLength).Select(i => (char)('a' + i % 26)));
        await _decisions.ReleaseAsync(hold, "sender", typed, null, CancellationToken.None);
        Assert.That((await ReadAsync(hold)).DecisionReason, Is.EqualTo(typed[..keptLength]));
    }
}
