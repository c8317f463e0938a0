using System.Security.Cryptography;
using System.Text.Json;
using PhiMailGateway.Audit;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// The accounting of disclosures read straight from a real SQLite audit chain: which rows it
/// lists, which events count as a row's outcome, when it was first delivered and opened, and which
/// patients it names. The CLI end-to-end tests show the same export as the privacy officer gets it;
/// these pin each decision the export makes on rows the test wrote itself.
/// </summary>
public class AccountingExportTests
{
    private const string Lee = "dr.lee@specialist.example";
    private const string Lab = "lab@smilelab.example";
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private QueueTestBed _bed = null!;
    private AuditKeys _keys = null!;
    private SqlAuditStore _store = null!;
    private AccountingExport _export = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        // The bed's sealer loads the same master key file, so these keys decrypt what it seals.
        _keys = new AuditKeys(MasterKey.LoadOrCreate(_bed.Options));
        _store = new SqlAuditStore(_bed.Database, _bed.Sealer);
        _export = new AccountingExport(_store, _keys);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private DisclosureRow Disclosure(string queueId, string recipient, string action = "Pickup", string? deliveryId = null, string? reference = null,
        string sender = "office@practice.example", int minutes = 0, AuditPatient[]? patients = null, string? recipientName = null, string? purpose = "Treatment")
    {
        patients ??= [];
        return new DisclosureRow
        {
            RecordedAt = T0.AddMinutes(minutes).ToUnixTimeMilliseconds(),
            QueueId = queueId,
            MessageId = $"<{queueId}@practice.example>",
            DeliveryId = deliveryId,
            AuthenticatedUser = "frontdesk",
            Sender = sender,
            Recipient = recipient,
            RecipientName = recipientName,
            Action = action,
            RuleName = "images-" + action.ToLowerInvariant(),
            Purpose = purpose,
            Reference = reference,
            PhiCount = 1,
            PhiKinds = "Dicom",
            PhiParts = "Dicom|DICOM|1234|ab12",
            PatientsEnc = patients.Length == 0 ? null : _keys.Encrypt(JsonSerializer.Serialize(patients), queueId),
            KeyId = _keys.KeyId,
            PatientLookups = patients.Where(p => p.PatientId is not null).Select(p => _keys.PatientLookup(p.PatientId!)).Distinct().ToList(),
        };
    }

    private static AuditEventRow Event(string type, string? queueId, string? recipient, string? deliveryId = null, string? packageId = null, int minutes = 0) => new()
    {
        RecordedAt = T0.AddMinutes(minutes).ToUnixTimeMilliseconds(),
        Type = type,
        QueueId = queueId,
        DeliveryId = deliveryId,
        Recipient = recipient,
        PackageId = packageId,
        Detail = "test",
    };

    private Task AppendAsync(params AuditRow[] rows) => _store.AppendAsync(rows, CancellationToken.None);

    private Task<IReadOnlyList<AccountingEntry>> QueryAsync(AccountingQuery? query = null) => _export.QueryAsync(query ?? new AccountingQuery(), CancellationToken.None);

    [Test]
    public async Task AccountingExport_OneDisclosure_CarriesEveryFieldOfItsRecord()
    {
        var row = Disclosure("Q1", Lee, "Smime", deliveryId: "Q1-1", recipientName: "Dr Lee", purpose: "Payment", minutes: 5);
        await AppendAsync(row);

        var entry = (await QueryAsync()).Single();
        Assert.Multiple(() =>
        {
            Assert.That(entry.Date, Is.EqualTo(T0.AddMinutes(5)));
            Assert.That((entry.RecipientName, entry.RecipientAddress, entry.Purpose, entry.Method), Is.EqualTo(("Dr Lee", Lee, "Payment", "Smime")));
            Assert.That(entry.Description, Is.EqualTo("1 dental image(s): Dicom (DICOM, 1234 bytes, SHA-256 ab12)"));
            Assert.That((entry.Rule, entry.Sender, entry.AuthenticatedUser, entry.MessageId, entry.QueueId, entry.DeliveryId),
                Is.EqualTo(("images-smime", "office@practice.example", "frontdesk", "<Q1@practice.example>", "Q1", "Q1-1")));
            Assert.That(entry.Seq, Is.EqualTo(row.Seq));
            Assert.That(entry.Patients, Is.Empty, "no DICOM patient in this message");
        });
    }

    [Test]
    public async Task AccountingExport_NoRecipientNameOrPurpose_EmptyCellsNotNull()
    {
        await AppendAsync(Disclosure("Q1", Lee, purpose: null));

        var entry = (await QueryAsync()).Single();
        Assert.That((entry.RecipientName, entry.Purpose), Is.EqualTo(("", "")), "a spreadsheet cell, never the text 'null'");
    }

    [TestCase("Pickup", "queued")]
    [TestCase("Relay", "queued")]
    [TestCase("Reject", "rejected")]
    public async Task AccountingExport_NoEventYet_OutcomeFollowsTheAction(string action, string expected)
    {
        await AppendAsync(Disclosure("Q1", Lee, action));

        var entry = (await QueryAsync()).Single();
        Assert.That((entry.Outcome, entry.OutcomeAt, entry.FirstDeliveredAt, entry.FirstOpenedAt, entry.Downloads),
            Is.EqualTo((expected, (DateTimeOffset?)null, (DateTimeOffset?)null, (DateTimeOffset?)null, 0)));
    }

    [Test]
    public async Task AccountingExport_DeferredThenRelayed_OutcomeIsTheNewestEventWithItsTime()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Relay", deliveryId: "Q1-1"),
            Event(AuditEventTypes.Deferred, "Q1", Lee, "Q1-1", minutes: 1),
            Event(AuditEventTypes.Relayed, "Q1", Lee, "Q1-1", minutes: 7),
            // A certificate fallback says how the rule was chosen, not what became of the mail.
            Event(AuditEventTypes.CertificateFallback, "Q1", Lee, "Q1-1", minutes: 8));

        var entry = (await QueryAsync()).Single();
        Assert.That((entry.Outcome, entry.OutcomeAt, entry.FirstDeliveredAt), Is.EqualTo(("relayed", (DateTimeOffset?)T0.AddMinutes(7), (DateTimeOffset?)T0.AddMinutes(7))));
    }

    [Test]
    public async Task AccountingExport_OnlyACertificateFallback_StillQueued()
    {
        await AppendAsync(Disclosure("Q1", Lee, "Pickup", deliveryId: "Q1-1"), Event(AuditEventTypes.CertificateFallback, "Q1", Lee, "Q1-1", minutes: 1));

        var entry = (await QueryAsync()).Single();
        Assert.That((entry.Outcome, entry.OutcomeAt), Is.EqualTo(("queued", (DateTimeOffset?)null)));
    }

    [Test]
    public async Task AccountingExport_PickupViewedAndDownloaded_FirstOpenedIsTheFirstOfEitherAndDownloadsAreCounted()
    {
        // The page's events carry the package id and no queue id or recipient.
        await AppendAsync(
            Disclosure("Q1", Lee, "Pickup", deliveryId: "Q1-1", reference: "P1"),
            Event(AuditEventTypes.Relayed, "Q1", Lee, "Q1-1", minutes: 1),
            Event(AuditEventTypes.Relayed, "Q1", Lee, "Q1-1", minutes: 2),
            Event(AuditEventTypes.PickupViewed, null, null, packageId: "P1", minutes: 10),
            Event(AuditEventTypes.PickupDownloaded, null, null, packageId: "P1", minutes: 11),
            Event(AuditEventTypes.PickupViewed, null, null, packageId: "P1", minutes: 12),
            Event(AuditEventTypes.PickupDownloaded, null, null, packageId: "P1", minutes: 13));

        var entry = (await QueryAsync()).Single();
        Assert.Multiple(() =>
        {
            Assert.That(entry.FirstDeliveredAt, Is.EqualTo(T0.AddMinutes(1)), "the first relay, not the last");
            Assert.That(entry.FirstOpenedAt, Is.EqualTo(T0.AddMinutes(10)), "the first view");
            Assert.That(entry.Downloads, Is.EqualTo(2));
            Assert.That((entry.Outcome, entry.OutcomeAt), Is.EqualTo(("downloaded", (DateTimeOffset?)T0.AddMinutes(13))));
        });
    }

    [Test]
    public async Task AccountingExport_DownloadedWithoutAView_FirstOpenedIsTheDownload()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Pickup", deliveryId: "Q1-1", reference: "P1"),
            Event(AuditEventTypes.PickupDownloaded, null, null, packageId: "P1", minutes: 4));

        var entry = (await QueryAsync()).Single();
        Assert.That((entry.FirstOpenedAt, entry.FirstDeliveredAt, entry.Downloads), Is.EqualTo(((DateTimeOffset?)T0.AddMinutes(4), (DateTimeOffset?)null, 1)));
    }

    [Test]
    public async Task AccountingExport_TwoRecipientsOfOneMessage_EachRowHasOnlyItsOwnCopysEvents()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Relay", deliveryId: "Q1-1"),
            Disclosure("Q1", Lab, "Relay", deliveryId: "Q1-2"),
            Event(AuditEventTypes.Relayed, "Q1", Lee, "Q1-1", minutes: 1),
            Event(AuditEventTypes.Bounced, "Q1", "LAB@SmileLab.example", "Q1-2", minutes: 2),
            // Another copy to Lee (a later delivery) is not this row's outcome.
            Event(AuditEventTypes.Deferred, "Q1", Lee, "Q1-9", minutes: 3));

        var entries = await QueryAsync();
        Assert.That(entries.Select(e => (e.RecipientAddress, e.Outcome)), Is.EqualTo(new[] { (Lee, "relayed"), (Lab, "bounced") }),
            "recipients compare ignoring case; another recipient's or another delivery's event is not this row's");
    }

    [Test]
    public async Task AccountingExport_EventOfTheMessageWithoutRecipient_IsNoRowsOutcome()
    {
        await AppendAsync(Disclosure("Q1", Lee, "Relay", deliveryId: "Q1-1"), Event(AuditEventTypes.Deferred, "Q1", null, "Q1-1", minutes: 1));

        var entry = (await QueryAsync()).Single();
        Assert.That(entry.Outcome, Is.EqualTo("queued"), "an event that names no recipient is about the message, not this disclosure");
    }

    [Test]
    public async Task AccountingExport_EventOrRowWithoutDeliveryId_CountsForTheRecipient()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Relay", deliveryId: "Q1-1"),
            Disclosure("Q2", Lee, "Relay"),
            Event(AuditEventTypes.Relayed, "Q1", Lee, null, minutes: 1),
            Event(AuditEventTypes.Bounced, "Q2", Lee, "Q2-1", minutes: 2));

        var entries = await QueryAsync();
        Assert.That(entries.Select(e => e.Outcome), Is.EqualTo(new[] { "relayed", "bounced" }), "records from before delivery ids name none; they still match");
    }

    [Test]
    public async Task AccountingExport_PackageEventOfAnotherRecipient_IsNotThisRowsOutcome()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Pickup", deliveryId: "Q1-1", reference: "P1"),
            Event(AuditEventTypes.PickupRevoked, null, Lab, packageId: "P1", minutes: 1));

        var entry = (await QueryAsync()).Single();
        Assert.That(entry.Outcome, Is.EqualTo("queued"));
    }

    [Test]
    public async Task AccountingExport_GatewaySenders_LeftOutUnlessAskedFor()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, "Pickup"),
            Disclosure("Q2", Lee, "Relay", sender: " No-Reply@GW.test "),
            Disclosure("Q3", Lee, "Relay", sender: "postmaster@gw.test"));

        var own = new[] { "no-reply@gw.test ", "POSTMASTER@gw.test" };
        var withoutOwn = await QueryAsync(new AccountingQuery(GatewaySenders: own));
        var withOwn = await QueryAsync(new AccountingQuery(IncludeGatewayMail: true, GatewaySenders: own));
        var noneNamed = await QueryAsync(new AccountingQuery(GatewaySenders: []));

        Assert.That(withoutOwn.Select(e => e.QueueId), Is.EqualTo(new[] { "Q1" }), "the gateway's own mail compares trimmed and ignoring case");
        Assert.That(withOwn.Select(e => e.QueueId), Is.EqualTo(new[] { "Q1", "Q2", "Q3" }));
        Assert.That(noneNamed.Select(e => e.QueueId), Is.EqualTo(new[] { "Q1", "Q2", "Q3" }));
    }

    [Test]
    public async Task AccountingExport_ForOnePatient_ListsOnlyTheirDisclosuresAndNamesNoOtherPatient()
    {
        var jane = new AuditPatient("TEST-0001", "DOE^JANE", "19800101");
        var john = new AuditPatient("TEST-0002", "ROE^JOHN", "19700101");
        var unnamed = new AuditPatient(null, "UNKNOWN^PATIENT", null);
        await AppendAsync(
            Disclosure("Q1", Lee, patients: [jane, john, unnamed]),
            Disclosure("Q2", Lee, patients: [john]),
            Disclosure("Q3", Lee));

        var forJane = await QueryAsync(new AccountingQuery(PatientId: " test-0001 "));
        var all = await QueryAsync();

        Assert.That(forJane.Select(e => e.QueueId), Is.EqualTo(new[] { "Q1" }));
        Assert.That(forJane.Single().Patients, Is.EqualTo(new[] { jane }), "the id is normalised (trimmed, upper case) before it is compared");
        Assert.That(all.Select(e => e.Patients.Count), Is.EqualTo(new[] { 3, 1, 0 }), "without a patient filter every patient is named, decrypted");
    }

    [Test]
    public async Task AccountingExport_SinceUntilAndRecipient_FilterTheRows()
    {
        await AppendAsync(
            Disclosure("Q1", Lee, minutes: 0),
            Disclosure("Q2", Lab, minutes: 10),
            Disclosure("Q3", Lee, minutes: 20));

        var window = await QueryAsync(new AccountingQuery(Since: T0.AddMinutes(10), Until: T0.AddMinutes(20)));
        var lee = await QueryAsync(new AccountingQuery(Recipient: "Dr.Lee@Specialist.example"));

        Assert.That(window.Select(e => e.QueueId), Is.EqualTo(new[] { "Q2" }), "since inclusive, until exclusive");
        Assert.That(lee.Select(e => e.QueueId), Is.EqualTo(new[] { "Q1", "Q3" }));
    }

    [Test]
    public async Task AccountingExport_PatientsFieldHoldingJsonNull_NoPatientsRatherThanACrash()
    {
        var row = Disclosure("Q1", Lee);
        row.PatientsEnc = _keys.Encrypt("null", "Q1");
        await AppendAsync(row);

        Assert.That((await QueryAsync()).Single().Patients, Is.Not.Null.And.Empty);
        Assert.That(await QueryAsync(new AccountingQuery(PatientId: "TEST-0001")), Is.Empty);
    }

    [Test]
    public async Task AccountingExport_RecordUnderAnotherMasterKey_RefusedNamingTheSeqNotGuessed()
    {
        var row = Disclosure("Q1", Lee, patients: [new AuditPatient("TEST-0001", "DOE^JANE", null)]);
        row.KeyId = new string('f', _keys.KeyId.Length);
        await AppendAsync(row);

        var error = Assert.ThrowsAsync<CryptographicException>(() => QueryAsync());
        Assert.That(error!.Message, Does.Contain($"disclosure seq {row.Seq} was encrypted under master key {row.KeyId}, not the current {_keys.KeyId}"));
    }

    [TestCase(AuditEventTypes.Relayed, "relayed")]
    [TestCase(AuditEventTypes.Deferred, "deferred")]
    [TestCase(AuditEventTypes.Bounced, "bounced")]
    [TestCase(AuditEventTypes.Rejected, "rejected")]
    [TestCase(AuditEventTypes.PickupCodeSent, "pickup code sent")]
    [TestCase(AuditEventTypes.PickupVerified, "pickup verified")]
    [TestCase(AuditEventTypes.PickupViewed, "viewed")]
    [TestCase(AuditEventTypes.PickupDownloaded, "downloaded")]
    [TestCase(AuditEventTypes.PickupRevoked, "revoked")]
    [TestCase(AuditEventTypes.PickupExpired, "expired")]
    [TestCase("SomethingNew", "SomethingNew")]
    public void AccountingExport_OutcomeText_ReadableForEveryEventType(string type, string expected) =>
        Assert.That(AccountingExport.OutcomeText(type), Is.EqualTo(expected));
}
