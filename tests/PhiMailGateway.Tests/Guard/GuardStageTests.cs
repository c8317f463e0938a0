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

    private QueueTestBed _bed = null!;
    private GatewayOptions _gateway = null!;
    private AuditKeys _keys = null!;
    private IAuditStore _audit = null!;

    [SetUp]
    public async Task SetUp()
    {
        _bed = await QueueTestBed.CreateAsync();
        _gateway = _bed.Options with { Domains = ["smiledental.example"] };
        _keys = new AuditKeys(MasterKey.LoadOrCreate(_gateway));
        _audit = new SqlAuditStore(_bed.Database, _bed.Sealer);
    }

    [TearDown]
    public void TearDown() => _bed.Dispose();

    private GuardStage Stage()
    {
        var store = new SqlGuardStore(_bed.Database);
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

    /// <summary>Pickup copies, each decided by a rule whose <c>GuardHolds</c> is the one given.</summary>
    private static RoutingPlan Plan(params (string Recipient, GuardHoldScope Holds)[] decisions) => new(
        decisions.Select(d => new RoutingDecision(d.Recipient,
            new RoutingRule("rule-" + d.Holds, new RuleConditions(), RoutingAction.Pickup, null, "Treatment") { GuardHolds = d.Holds }, [],
            new CertificateAvailability(false, null))), []);

    private Task DeliveredAsync(string queueId, string recipient, string patientId) =>
        _audit.AppendAsync(DeliveredRows.Of(queueId, recipient, patientLookup: _keys.PatientLookup(patientId)), CancellationToken.None);

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

    private const string Lookalike = "dr.lee@endo-specialsts.example";
    private const string WholeMessageText = "held with the rest of the message, because another of its addresses may be a mistake";

    [Test]
    public async Task Check_AHeldCopyWhoseRuleHoldsTheMessage_HoldsEveryOtherCopyWithIt()
    {
        await DeliveredAsync("Q0", Lee, "TEST-0001");
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        var plan = await Stage().CheckAsync(headers, report,
            Plan((Lookalike, GuardHoldScope.Message), (Lee, GuardHoldScope.Recipient), (Lab, GuardHoldScope.Recipient)), CancellationToken.None);

        Assert.That(plan.HeldRecipients, Is.EqualTo(new[] { Lookalike, Lee, Lab }));
        Assert.That(plan.Verdicts[0].Reasons.Select(r => r.Check), Does.Not.Contain(GuardCheck.WholeMessage), "held for its own reason");
        var withIt = plan.Verdicts[1].Reasons.Single();
        Assert.That((withIt.Check, withIt.Action, withIt.Text), Is.EqualTo((GuardCheck.WholeMessage, GuardAction.Hold, WholeMessageText)));
        Assert.That(plan.Verdicts[2].Reasons.Select(r => r.Check), Is.SupersetOf(new[] { GuardCheck.NewRecipient, GuardCheck.WholeMessage }),
            "a flagged copy is held too, keeping its own reasons");
    }

    [Test]
    public async Task Check_AHeldCopyWhoseRuleHoldsOnlyItsRecipient_TheOtherCopiesGoOn()
    {
        await DeliveredAsync("Q0", Lee, "TEST-0001");
        var (headers, report) = await InspectAsync("xray-dicom.eml");
        var plan = await Stage().CheckAsync(headers, report, Plan((Lookalike, GuardHoldScope.Recipient), (Lee, GuardHoldScope.Message)), CancellationToken.None);

        Assert.That(plan.HeldRecipients, Is.EqualTo(new[] { Lookalike }), "the Message rule is Lee's, whose copy is not held");
        Assert.That(plan.Verdicts[1].Outcome, Is.EqualTo(GuardOutcome.Pass));
        Assert.That(plan.Verdicts[1].Reasons, Is.Empty);
    }

    [Test]
    public void HoldingWhereRouted_HoldDecisionsAreHeldWithTheirReason_OthersKeepTheirVerdict()
    {
        var rule = new RoutingRule("images-tls-first", new RuleConditions(), RoutingAction.TlsFirst, null, "Treatment") { Fallback = RoutingAction.Hold };
        var tls = new RoutingDecision("desk@imaging.example", rule, [], null).FallingBack("no MX with verified TLS: mx.imaging.example: offers no STARTTLS");
        var off = new RoutingDecision("off@imaging.example", rule, [], null).FallingBack(RoutingStage.DirectDisabled);
        var ruled = new RoutingDecision("dr@lab.example", new RoutingRule("ask-first", new RuleConditions(), RoutingAction.Hold, null, "Treatment"), [], null);
        var passed = new RoutingDecision("lee@endo.example", new RoutingRule("everything-else", new RuleConditions(), RoutingAction.Relay, null, "Treatment"), [], null);
        var flag = new GuardReason(GuardCheck.NewRecipient, GuardAction.Flag, "new");
        var verdicts = new GuardPlan([new GuardVerdict(tls.Recipient, [flag]), new GuardVerdict(off.Recipient, []), new GuardVerdict(ruled.Recipient, []), new GuardVerdict(passed.Recipient, [flag])]);

        var plan = verdicts.HoldingWhereRouted(new RoutingPlan([tls, off, ruled, passed], []));

        Assert.That(plan.HeldRecipients, Is.EqualTo(new[] { tls.Recipient, off.Recipient, ruled.Recipient }));
        Assert.That(plan.Verdicts.Select(v => v.Reasons.Select(r => (r.Check, r.Action, r.Text)).ToList()), Is.EqualTo(new[]
        {
            new[] { (GuardCheck.NewRecipient, GuardAction.Flag, "new"), (GuardCheck.RuleHold, GuardAction.Hold,
                "its mail server's encryption could not be verified (no MX with verified TLS: mx.imaging.example: offers no STARTTLS); sent anyway, it goes by secure pickup link") }.ToList(),
            [(GuardCheck.RuleHold, GuardAction.Hold, "the gateway does not deliver straight to mail servers yet; sent anyway, it goes by secure pickup link")],
            [(GuardCheck.RuleHold, GuardAction.Hold, "the practice's rule ask-first asks you to confirm first; sent anyway, it goes by secure pickup link")],
            [(GuardCheck.NewRecipient, GuardAction.Flag, "new")],
        }));
    }
}

