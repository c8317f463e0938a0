using PhiMailGateway.Audit;
using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What every <see cref="IGuardStore"/> must do: read the audit's deliveries of images (and only
/// those) and keep the entries people added. Each subclass supplies a fresh store with the audit
/// store that shares its database.
/// </summary>
public abstract class GuardStoreContract
{
    protected IGuardStore Guard { get; private set; } = null!;
    protected IAuditStore Audit { get; private set; } = null!;

    protected abstract Task<(IGuardStore Guard, IAuditStore Audit)> CreateAsync();

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract() => (Guard, Audit) = await CreateAsync();

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    private static DisclosureRow Disclosure(string deliveryId, string recipient, int phiCount = 1, string? name = null, params string[] patients) => new()
    {
        RecordedAt = 1,
        QueueId = deliveryId.Split('-')[0],
        DeliveryId = deliveryId,
        Sender = "office@smiledental.example",
        Recipient = recipient,
        RecipientName = name,
        Action = "Pickup",
        PhiCount = phiCount,
        PhiKinds = phiCount > 0 ? "Dicom" : "",
        PhiParts = "",
        KeyId = "test",
        PatientLookups = [.. patients],
    };

    private static AuditEventRow Event(string type, string deliveryId, string recipient) =>
        new() { RecordedAt = 2, Type = type, QueueId = deliveryId.Split('-')[0], DeliveryId = deliveryId, Recipient = recipient };

    [Test]
    public async Task ReadDelivered_OnlyRelayedCopiesWithImages_WithTheirNames()
    {
        await Audit.AppendAsync(
        [
            Disclosure("Q1-1", "dr.lee@endo.example", name: "Dr. Lee"), Event(AuditEventTypes.Relayed, "Q1-1", "Dr.Lee@Endo.example"),
            Disclosure("Q2-1", "lab@crown.example"), Event(AuditEventTypes.Deferred, "Q2-1", "lab@crown.example"),
            Disclosure("Q3-1", "friend@plain.example", phiCount: 0), Event(AuditEventTypes.Relayed, "Q3-1", "friend@plain.example"),
            Disclosure("Q4-1", "someone@else.example"), Event(AuditEventTypes.Relayed, "Q4-2", "someone@else.example"),
        ], CancellationToken.None);

        var history = await Guard.ReadDeliveredSinceAsync(0, CancellationToken.None);

        Assert.That(history.Delivered, Is.EqualTo(new (string, string?)[] { ("dr.lee@endo.example", "Dr. Lee") }),
            "deferred, image-less and other deliveries' events do not count");
        Assert.That(history.ReadUpTo, Is.EqualTo(8));
    }

    [Test]
    public async Task ReadDelivered_AfterAPosition_OnlyWhatCameLater()
    {
        await Audit.AppendAsync([Disclosure("Q1-1", "a@one.example"), Event(AuditEventTypes.Relayed, "Q1-1", "a@one.example")], CancellationToken.None);
        var first = await Guard.ReadDeliveredSinceAsync(0, CancellationToken.None);
        await Audit.AppendAsync([Disclosure("Q2-1", "b@two.example"), Event(AuditEventTypes.Relayed, "Q2-1", "b@two.example")], CancellationToken.None);

        var second = await Guard.ReadDeliveredSinceAsync(first.ReadUpTo, CancellationToken.None);
        var nothing = await Guard.ReadDeliveredSinceAsync(second.ReadUpTo, CancellationToken.None);

        Assert.That(second.Delivered.Select(d => d.Address), Is.EqualTo(new[] { "b@two.example" }));
        Assert.That(nothing.Delivered, Is.Empty);
        Assert.That(nothing.ReadUpTo, Is.EqualTo(second.ReadUpTo));
    }

    [Test]
    public async Task PatientRecipients_DeliveredCopiesOfThatPatient_PerLookup()
    {
        await Audit.AppendAsync(
        [
            Disclosure("Q1-1", "dr.lee@endo.example", patients: "P1"), Event(AuditEventTypes.Relayed, "Q1-1", "dr.lee@endo.example"),
            Disclosure("Q2-1", "Lab@Crown.example", patients: ["P1", "P2"]), Event(AuditEventTypes.Relayed, "Q2-1", "lab@crown.example"),
            Disclosure("Q3-1", "never@sent.example", patients: "P1"), Event(AuditEventTypes.Bounced, "Q3-1", "never@sent.example"),
        ], CancellationToken.None);

        var found = await Guard.PatientRecipientsAsync(["P1", "P2", "P3"], CancellationToken.None);

        Assert.That(found["P1"], Is.EqualTo(new[] { "dr.lee@endo.example", "lab@crown.example" }), "lower case, sorted, bounced copies left out");
        Assert.That(found["P2"], Is.EqualTo(new[] { "lab@crown.example" }));
        Assert.That(found["P3"], Is.Empty, "a patient never sent is asked and answered");
        Assert.That(await Guard.PatientRecipientsAsync([], CancellationToken.None), Is.Empty);
    }

    [Test]
    public async Task Known_AddListRemove_VersionChangesOnlyWithAChange()
    {
        var v0 = await Guard.KnownVersionAsync(CancellationToken.None);
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

        Assert.That(await Guard.AddKnownAsync(new KnownEntry("@crown.example", KnownSources.It, at, "cli"), CancellationToken.None), Is.True);
        Assert.That(await Guard.AddKnownAsync(new KnownEntry("dr.lee@endo.example", KnownSources.Confirmed, at, "office@smiledental.example"), CancellationToken.None), Is.True);
        var v2 = await Guard.KnownVersionAsync(CancellationToken.None);
        Assert.That(await Guard.AddKnownAsync(new KnownEntry("@crown.example", KnownSources.Confirmed, at, "x"), CancellationToken.None), Is.False, "already there");
        Assert.That(await Guard.KnownVersionAsync(CancellationToken.None), Is.EqualTo(v2), "nothing changed");

        var listed = await Guard.ListKnownAsync(CancellationToken.None);
        Assert.That(listed, Is.EqualTo(new[]
        {
            new KnownEntry("@crown.example", KnownSources.It, at, "cli"),
            new KnownEntry("dr.lee@endo.example", KnownSources.Confirmed, at, "office@smiledental.example"),
        }), "sorted, the first source kept");

        Assert.That(await Guard.RemoveKnownAsync("@crown.example", CancellationToken.None), Is.True);
        Assert.That(await Guard.RemoveKnownAsync("@crown.example", CancellationToken.None), Is.False);
        var v3 = await Guard.KnownVersionAsync(CancellationToken.None);
        Assert.That(v2, Is.GreaterThan(v0));
        Assert.That(v3, Is.GreaterThan(v2));
        Assert.That((await Guard.ListKnownAsync(CancellationToken.None)).Select(e => e.Entry), Is.EqualTo(new[] { "dr.lee@endo.example" }));
    }
}
