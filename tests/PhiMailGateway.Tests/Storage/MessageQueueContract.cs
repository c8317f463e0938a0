using PhiMailGateway.Audit;
using PhiMailGateway.Queue;
using PhiMailGateway.Relay;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What every <see cref="IMessageQueue"/> must do, whatever the database behind it: each subclass
/// supplies a fresh, empty queue and the audit store of the same storage. Nothing here may assume
/// one engine (no file paths, no PRAGMAs): the PostgreSQL store adds the second subclass.
/// </summary>
public abstract class MessageQueueContract
{
    private const string Sender = "office@practice.example";

    protected ManualTimeProvider Clock { get; private set; } = null!;
    protected IMessageQueue Queue { get; private set; } = null!;
    protected IAuditStore Audit { get; private set; } = null!;

    /// <summary>A fresh, empty storage; <paramref name="time"/> is the queue's clock.</summary>
    protected abstract Task<(IMessageQueue Queue, IAuditStore Audit)> CreateAsync(TimeProvider time);

    /// <summary>Makes the storage refuse every write from now on, as a full disk or a read-only database does.</summary>
    protected abstract Task MakeUnwritableAsync();

    /// <summary>Undoes <see cref="MakeUnwritableAsync"/>.</summary>
    protected abstract Task MakeWritableAsync();

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract()
    {
        // Deliveries take their due time from the wall clock; the queue's clock starts just after it.
        Clock = new ManualTimeProvider(DateTimeOffset.UtcNow.AddSeconds(1));
        (Queue, Audit) = await CreateAsync(Clock);
    }

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private SpoolEntry Entry(string queueId, DateTimeOffset receivedAt, params string[] recipients) =>
        new(queueId, "/spool/incoming/" + queueId + ".msg", 100, 2000,
            new Envelope(Sender, recipients, "frontdesk", "127.0.0.1", "pc", receivedAt, true));

    private async Task<string> ReceivedAsync(string queueId, params string[] recipients)
    {
        await Queue.RecordReceivedAsync(Entry(queueId, Clock.GetUtcNow().AddSeconds(-1), recipients), CancellationToken.None);
        return queueId;
    }

    private static NewDelivery Copy(string deliveryId, params string[] recipients) =>
        new(deliveryId, Sender, recipients, "/spool/outbound/" + deliveryId + ".eml", 0, "Relay", "everything-else", false, false);

    private static DisclosureRow Record(string queueId, string deliveryId, string recipient) => new()
    {
        RecordedAt = 1,
        QueueId = queueId,
        DeliveryId = deliveryId,
        Sender = Sender,
        Recipient = recipient,
        Action = "Relay",
        RuleName = "everything-else",
        PhiKinds = "",
        PhiParts = "",
        KeyId = "test",
    };

    [Test]
    public async Task RecordReceived_SameMessageTwice_KeepsOneRowAsFirstRecorded()
    {
        await Queue.RecordReceivedAsync(Entry("Q1", Clock.GetUtcNow().AddMinutes(-5), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q1", Clock.GetUtcNow(), "a@lab.example", "b@lab.example"), CancellationToken.None);

        var row = await Queue.FindMessageAsync("Q1", CancellationToken.None);
        Assert.That(row, Is.Not.Null);
        Assert.That(row!.RecipientCount, Is.EqualTo(1), "recovery may record a message again; the first row stays");
        Assert.That(row.State, Is.EqualTo(MessageStates.Received));
        Assert.That((await Queue.DueMessagesAsync(10, CancellationToken.None)).Count, Is.EqualTo(1));
    }

    [Test]
    public async Task DueMessages_SeveralReceived_EarliestFirstAndNoneBeforeItsDueTime()
    {
        var now = Clock.GetUtcNow();
        await Queue.RecordReceivedAsync(Entry("Q3", now.AddSeconds(-10), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q1", now.AddSeconds(-30), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q2", now.AddSeconds(-20), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q4", now.AddMinutes(5), "a@lab.example"), CancellationToken.None);
        await Queue.DeferMessageAsync("Q2", now.AddMinutes(1), "stage asked to wait", CancellationToken.None);

        var due = await Queue.DueMessagesAsync(10, CancellationToken.None);
        Assert.That(due.Select(m => m.QueueId), Is.EqualTo(new[] { "Q1", "Q3" }), "earliest first; deferred and future ones wait");
        Assert.That((await Queue.DueMessagesAsync(1, CancellationToken.None)).Select(m => m.QueueId), Is.EqualTo(new[] { "Q1" }), "the limit holds");

        Clock.Advance(TimeSpan.FromMinutes(2));
        due = await Queue.DueMessagesAsync(10, CancellationToken.None);
        Assert.That(due.Select(m => m.QueueId), Is.EqualTo(new[] { "Q1", "Q3", "Q2" }));
        Assert.That(due.Single(m => m.QueueId == "Q2").Attempts, Is.EqualTo(1), "a deferral counts an attempt");
    }

    [Test]
    public async Task CommitDisclosure_Processed_CopiesRecordsAndStateCommitTogether()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example", "b@lab.example");
        var before = await Audit.ReadHeadAsync(CancellationToken.None);

        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null),
            [Copy("Q1-1", "a@lab.example", "b@lab.example")],
            [Record(id, "Q1-1", "a@lab.example"), Record(id, "Q1-1", "b@lab.example")], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);

        Assert.That((await Queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Processed));
        Assert.That(await Queue.DueMessagesAsync(10, CancellationToken.None), Is.Empty, "a processed message is not processed again");
        var pending = await Queue.PendingDeliveriesAsync(CancellationToken.None);
        Assert.That(pending.Select(d => d.DeliveryId), Is.EqualTo(new[] { "Q1-1" }));
        Assert.That(pending[0].PendingRecipients, Is.EqualTo(new[] { "a@lab.example", "b@lab.example" }));
        Assert.That((await Audit.ReadHeadAsync(CancellationToken.None)).Seq, Is.EqualTo(before.Seq + 2), "both records are in the chain");
    }

    [Test]
    public async Task CommitDisclosure_RecordFailsInsideTheCommit_LeavesNeitherRecordsNorCopies()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        var before = await Audit.ReadHeadAsync(CancellationToken.None);
        // The first record and the copy are fine; the second record lacks its recipient, which the
        // store refuses after the others were already written in the same transaction.
        var broken = Record(id, "Q1-1", "b@lab.example");
        broken.Recipient = null!;

        Assert.ThrowsAsync(Is.InstanceOf<StorageException>(), () => Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null),
            [Copy("Q1-1", "a@lab.example")], [Record(id, "Q1-1", "a@lab.example"), broken], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None));

        Assert.That(await Queue.PendingDeliveriesAsync(CancellationToken.None), Is.Empty, "no copy may wait for relay without its record (invariant 2)");
        Assert.That((await Audit.ReadHeadAsync(CancellationToken.None)).Seq, Is.EqualTo(before.Seq), "no record of a disclosure that did not happen");
        Assert.That((await Queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Received), "the message waits for another try");
    }

    [Test]
    public async Task CommitDisclosure_Rejected_KeepsReasonAndFinishesOnceNothingIsPending()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Rejected, "rule block-all"), [],
            [Record(id, null!, "a@lab.example")], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);

        var row = await Queue.FindMessageAsync(id, CancellationToken.None);
        Assert.That((row!.State, row.LastError), Is.EqualTo((MessageStates.Rejected, "rule block-all")));
        Assert.That(await Queue.TryFinishMessageAsync(id, CancellationToken.None), Is.True, "nothing pending: done");
        Assert.That(await Queue.TryFinishMessageAsync(id, CancellationToken.None), Is.False, "and only once");
    }

    [Test]
    public async Task RecordAttempt_LastRecipientSettled_DeliveryAndMessageDoneWithTheirFiles()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example", "b@lab.example");
        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [Copy("Q1-1", "a@lab.example", "b@lab.example")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        var delivery = (await Queue.PendingDeliveriesAsync(CancellationToken.None)).Single();
        var head = await Audit.ReadHeadAsync(CancellationToken.None);

        var first = await Queue.RecordAttemptAsync(delivery,
            [new RecipientOutcome("a@lab.example", RecipientStatus.Delivered, 250, "ok"), new RecipientOutcome("b@lab.example", RecipientStatus.Deferred, 451, "later")],
            [], Clock.GetUtcNow().AddMinutes(5), "451 later", [],
            [new AuditEventRow { RecordedAt = 1, Type = AuditEventTypes.Relayed, QueueId = id, DeliveryId = "Q1-1", Recipient = "a@lab.example" }], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        Assert.That(first, Is.EqualTo(new AttemptRecorded(false, [])).Using<AttemptRecorded>((x, y) => x.DeliveryDone == y.DeliveryDone && x.FilesToDelete.Count == y.FilesToDelete.Count));
        Assert.That(await Queue.PendingRecipientsAsync("Q1-1", CancellationToken.None), Is.EqualTo(new[] { "b@lab.example" }));
        Assert.That(await Queue.DueDeliveriesAsync(10, CancellationToken.None), Is.Empty, "the deferred recipient waits for its next attempt");
        Assert.That((await Audit.ReadHeadAsync(CancellationToken.None)).Seq, Is.EqualTo(head.Seq + 1), "the event commits with the attempt");

        var last = await Queue.RecordAttemptAsync(delivery, [new RecipientOutcome("b@lab.example", RecipientStatus.Delivered, 250, "ok")],
            [], Clock.GetUtcNow(), null, [], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        Assert.That(last.DeliveryDone, Is.True);
        Assert.That(last.FilesToDelete, Is.EquivalentTo(new[] { "/spool/incoming/Q1.msg", "/spool/outbound/Q1-1.eml" }), "the whole message settled: its files go");
        Assert.That((await Queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Done));
        Assert.That(await Queue.PendingDeliveriesAsync(CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task RecordAttempt_FallbackThatItsRuleHolds_SettlesTheCopyButKeepsTheMessageOpenForTheHold()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [Copy("Q1-1", "a@lab.example")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        var delivery = (await Queue.PendingDeliveriesAsync(CancellationToken.None)).Single();
        var reason = new PhiMailGateway.Guard.GuardReason(PhiMailGateway.Guard.GuardCheck.RuleHold, PhiMailGateway.Guard.GuardAction.Hold, "its mail server's encryption could not be verified");
        var held = new PhiMailGateway.Guard.GuardRecords([new PhiMailGateway.Guard.NewGuardHold("Q1-1-H1", "a@lab.example", [reason], Clock.GetUtcNow().AddDays(1))], null);

        var recorded = await Queue.RecordAttemptAsync(delivery, [new RecipientOutcome("a@lab.example", RecipientStatus.Fallback, 0, "no MX with verified TLS")],
            [], Clock.GetUtcNow(), null, [], [], held, CancellationToken.None);

        Assert.That((recorded.DeliveryDone, recorded.FilesToDelete.Count), Is.EqualTo((true, 0)), "the TLS-first copy is settled; the message's files stay for the release");
        Assert.That((await Queue.FindMessageAsync(id, CancellationToken.None))!.State, Is.EqualTo(MessageStates.Processed));
        Assert.That(await Queue.TryFinishMessageAsync(id, CancellationToken.None), Is.False, "the held copy keeps it open");
    }

    [Test]
    public async Task DeferAfterFailure_MessageAlreadyProcessed_ChangesNothing()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [Copy("Q1-1", "a@lab.example")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);

        await Queue.DeferMessageAfterFailureAsync(id, Clock.GetUtcNow().AddHours(1), "failed: late", CancellationToken.None);

        var row = await Queue.FindMessageAsync(id, CancellationToken.None);
        Assert.That((row!.State, row.Attempts, row.LastError), Is.EqualTo((MessageStates.Processed, 0L, (string?)null)),
            "a failure after the copies were committed must not touch the message");
    }

    [Test]
    public async Task Count_OpenMessagesByState_PendingCopiesAndTheOldestArrival()
    {
        var empty = await Queue.CountAsync([MessageStates.Received, MessageStates.Held], CancellationToken.None);
        Assert.That(empty.MessagesByState, Is.Empty);
        Assert.That(empty.OldestReceivedAt, Is.Null);

        var now = Clock.GetUtcNow();
        await Queue.RecordReceivedAsync(Entry("Q1", now.AddMinutes(-30), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q2", now.AddMinutes(-20), "a@lab.example"), CancellationToken.None);
        await Queue.RecordReceivedAsync(Entry("Q3", now.AddMinutes(-10), "a@lab.example"), CancellationToken.None);
        await Queue.CommitDisclosureAsync(new MessageDisposition("Q1", MessageStates.Processed, null),
            [Copy("Q1-1", "a@lab.example"), Copy("Q1-2", "b@lab.example")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        await Queue.SetMessageStateAsync("Q3", MessageStates.Held, "held for the sender", "/spool/hold/Q3.msg", CancellationToken.None);

        var counts = await Queue.CountAsync([MessageStates.Received, MessageStates.Held], CancellationToken.None);
        Assert.That(counts.MessagesByState, Is.EquivalentTo(new Dictionary<string, long> { [MessageStates.Received] = 1, [MessageStates.Held] = 1 }),
            "only the states asked for");
        Assert.That(counts.PendingDeliveries, Is.EqualTo(2));
        Assert.That(counts.OldestReceivedAt!.Value.ToUnixTimeMilliseconds(), Is.EqualTo(now.AddMinutes(-20).ToUnixTimeMilliseconds()),
            "the processed Q1 is older but not among the states asked for");
    }

    [Test]
    public async Task ReleaseHeld_Twice_ReleasesOnceAndMessageIsDueAgain()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        await Queue.SetMessageStateAsync(id, MessageStates.Held, "held for the sender", "/spool/hold/Q1.msg", CancellationToken.None);
        Assert.That(await Queue.DueMessagesAsync(10, CancellationToken.None), Is.Empty, "held is not due");

        Assert.That(await Queue.ReleaseHeldAsync(id, "/spool/incoming/Q1.msg", CancellationToken.None), Is.True);
        Assert.That(await Queue.ReleaseHeldAsync(id, "/spool/incoming/Q1.msg", CancellationToken.None), Is.False, "a message is released once");
        var due = await Queue.DueMessagesAsync(10, CancellationToken.None);
        Assert.That(due.Select(m => (m.QueueId, m.SpoolPath)), Is.EqualTo(new[] { (id, "/spool/incoming/Q1.msg") }));
    }

    [Test]
    public async Task RetryNow_WaitingDelivery_IsDueAtOnce_UnknownIdIsFalse()
    {
        var id = await ReceivedAsync("Q1", "a@lab.example");
        await Queue.CommitDisclosureAsync(new MessageDisposition(id, MessageStates.Processed, null), [Copy("Q1-1", "a@lab.example")], [], PhiMailGateway.Guard.GuardRecords.None, CancellationToken.None);
        await Queue.DeferDeliveryAfterFailureAsync("Q1-1", Clock.GetUtcNow().AddHours(1), "failed: IOException", CancellationToken.None);
        Assert.That(await Queue.DueDeliveriesAsync(10, CancellationToken.None), Is.Empty);

        Assert.That(await Queue.RetryNowAsync("Q1-1", CancellationToken.None), Is.True);
        Assert.That((await Queue.DueDeliveriesAsync(10, CancellationToken.None)).Select(d => d.DeliveryId), Is.EqualTo(new[] { "Q1-1" }));
        Assert.That(await Queue.RetryNowAsync("NO-SUCH-ID", CancellationToken.None), Is.False);
    }

    [Test]
    public async Task Writes_StorageRefusesWrites_StorageUnavailableAndNothingRecorded()
    {
        await MakeUnwritableAsync();
        try
        {
            var failure = Assert.ThrowsAsync<StorageUnavailableException>(() => Queue.RecordReceivedAsync(
                Entry("Q1", Clock.GetUtcNow(), "a@lab.example"), CancellationToken.None));
            Assert.That(failure!.Reason, Is.Not.Empty, "the reason can be logged");
            Assert.That(StorageFailures.Unavailable(new AggregateException(failure)), Is.SameAs(failure), "found also when wrapped");
        }
        finally
        {
            await MakeWritableAsync();
        }
        Assert.That(await Queue.FindMessageAsync("Q1", CancellationToken.None), Is.Null, "the refused write left nothing");
        await ReceivedAsync("Q2", "a@lab.example");
        Assert.That((await Queue.DueMessagesAsync(10, CancellationToken.None)).Select(m => m.QueueId), Is.EqualTo(new[] { "Q2" }), "writes work again");
    }
}
