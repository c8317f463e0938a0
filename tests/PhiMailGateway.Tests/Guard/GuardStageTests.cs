using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Certificates;
using PhiMailGateway.Configuration;
using PhiMailGateway.Guard;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>The Guard stage over a real message, a real SQLite audit log and the audit's keyed PatientID hash.</summary>
public class GuardStageTests
{
    private const string Lee = "dr.lee@endo-specialists.example";
    private const string Lab = "cases@crown-lab.example";

    private TempDirectory _data = null!;
    private GatewayOptions _gateway = null!;
    private GatewayDatabase _database = null!;
    private AuditKeys _keys = null!;
    private IAuditStore _audit = null!;

    [SetUp]
    public async Task SetUp()
    {
        _data = new TempDirectory();
        _gateway = new GatewayOptions { DataDirectory = _data.Path, HostName = "gw.test", Domains = ["smiledental.example"] };
        _database = new GatewayDatabase(_gateway);
        await _database.MigrateAsync(CancellationToken.None);
        _keys = new AuditKeys(MasterKey.LoadOrCreate(_gateway));
        _audit = new SqliteAuditStore(_database, new AuditChainSealer(_keys, new AuditHeadFile(_gateway, NullLogger<AuditHeadFile>.Instance)));
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private GuardStage Stage()
    {
        var store = new SqliteGuardStore(_database);
        var options = new GuardOptions();
        return new GuardStage(new GuardChecks(options, _gateway.Domains), new GuardKnowledgeCache(store, options, _gateway), store, _keys);
    }

    private static async Task<(MessageHeaders Headers, InspectionReport Report)> InspectAsync(string sample)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "samples", sample);
        await using var headersFile = File.OpenRead(path);
        var headers = await MessageHeaders.ReadAsync(headersFile, CancellationToken.None);
        await using var file = File.OpenRead(path);
        return (headers, await new MessageInspector(new InspectionOptions(), Path.GetTempPath()).InspectAsync(file, CancellationToken.None));
    }

    private static RoutingPlan Plan(params (string Recipient, RoutingAction Action)[] decisions) => new(
        decisions.Select(d => new RoutingDecision(d.Recipient, new RoutingRule("rule-" + d.Action, new RuleConditions(), d.Action, null, "Treatment"), [],
            new CertificateAvailability(false, null))), []);

    private Task DeliveredAsync(string queueId, string recipient, string patientId) => _audit.AppendAsync(
    [
        new DisclosureRow
        {
            RecordedAt = 1, QueueId = queueId, DeliveryId = queueId + "-1", Sender = "office@smiledental.example", Recipient = recipient,
            Action = "Pickup", PhiCount = 1, PhiKinds = "Dicom", PhiParts = "", KeyId = _keys.KeyId, PatientLookups = [_keys.PatientLookup(patientId)],
        },
        new AuditEventRow { RecordedAt = 2, Type = AuditEventTypes.Relayed, QueueId = queueId, DeliveryId = queueId + "-1", Recipient = recipient },
    ], CancellationToken.None);

    [Test]
    public async Task Check_PatientSentToAnotherAddressBefore_FlagsTheNewRecipientAndPassesTheKnownOne()
    {
        await DeliveredAsync("Q0", Lee, "TEST-0001"); // the sample's DICOM PatientID
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        Assert.That(report.HasDentalImage, Is.True, "the sample carries a DICOM");

        var plan = await Stage().CheckAsync(headers, report, Plan((Lee, RoutingAction.Pickup), (Lab, RoutingAction.Pickup)), CancellationToken.None);

        Assert.That(plan.Verdicts.Select(v => v.Recipient), Is.EqualTo(new[] { Lee, Lab }));
        Assert.That(plan.Verdicts[0].Outcome, Is.EqualTo(GuardOutcome.Pass), "delivered this patient before");
        Assert.That(plan.Verdicts[1].Reasons.Select(r => r.Check), Is.EquivalentTo(new[] { GuardCheck.NewRecipient, GuardCheck.NewPatientRecipient }));
        Assert.That(plan.Flagged.Select(v => v.Recipient), Is.EqualTo(new[] { Lab }));
        Assert.That(plan.Held, Is.Empty);
    }

    [Test]
    public async Task Check_OtherPatientSentBefore_NoPatientReason()
    {
        await DeliveredAsync("Q0", Lee, "SOMEONE-ELSE");
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        var plan = await Stage().CheckAsync(headers, report, Plan((Lab, RoutingAction.Pickup)), CancellationToken.None);
        Assert.That(plan.Verdicts.Single().Reasons.Select(r => r.Check), Is.EqualTo(new[] { GuardCheck.NewRecipient }));
    }

    [Test]
    public async Task Check_ALookalikeRecipient_IsHeld()
    {
        await DeliveredAsync("Q0", Lee, "TEST-0001");
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        var plan = await Stage().CheckAsync(headers, report, Plan(("dr.lee@endo-specialsts.example", RoutingAction.Pickup)), CancellationToken.None);
        Assert.That(plan.Held.Single().Reasons.First().Check, Is.EqualTo(GuardCheck.Lookalike));
    }

    [Test]
    public async Task Check_NoDentalImage_EveryRecipientPassesUnchecked()
    {
        var (headers, report) = await InspectAsync("hello.eml");
        var plan = await Stage().CheckAsync(headers, report, Plan(("dr.lee@endo-specialsts.example", RoutingAction.Relay)), CancellationToken.None);
        Assert.That(plan.Verdicts.Single().Outcome, Is.EqualTo(GuardOutcome.Pass));
        Assert.That(plan.Verdicts.Single().Reasons, Is.Empty);
    }

    [Test]
    public async Task Check_RecipientsARejectRuleRefused_GetNoVerdict()
    {
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        var plan = await Stage().CheckAsync(headers, report, Plan((Lee, RoutingAction.Reject), (Lab, RoutingAction.Pickup)), CancellationToken.None);
        Assert.That(plan.Verdicts.Select(v => v.Recipient), Is.EqualTo(new[] { Lab }), "nothing goes to a refused recipient, so nothing to guard");
    }
}
