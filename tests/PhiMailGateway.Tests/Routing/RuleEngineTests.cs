using PhiMailGateway.Routing;

namespace PhiMailGateway.Tests.Routing;

public class RuleEngineTests
{
    private sealed class Certificates(params string[] usable) : IRecipientCertificates
    {
        public int Calls { get; private set; }

        public Task<CertificateAvailability> CheckAsync(string address, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(usable.Contains(address) ? new CertificateAvailability(true, null) : new CertificateAvailability(false, "expired"));
        }
    }

    private static readonly RuleSet Rules = RuleSetParser.Parse(RuleSetParserTests.Json("""
        { "Rules": [
          { "Name": "lab-partner-tls", "When": { "RecipientDomains": ["smilelab.example"] }, "Action": "RequireTls" },
          { "Name": "images-smime", "When": { "HasDentalImage": true, "RecipientHasCertificate": true }, "Action": "Smime" },
          { "Name": "images-pickup", "When": { "HasDentalImage": true }, "Action": "Pickup" },
          { "Name": "confidential", "When": { "Sensitivity": "Confidential" }, "Action": "Pickup" },
          { "Name": "marked-secure", "When": { "SubjectContains": "[secure]" }, "Action": "Pickup" },
          { "Name": "scans-only", "When": { "ImageKinds": ["Scan3D"] }, "Action": "Reject" },
          { "Name": "everything-else", "Action": "Relay" }
        ] }
        """), RuleSetParserTests.Kinds).RuleSet!;

    private static MessageFacts Facts(bool image = false, string subject = "Referral", string? sensitivity = null, params string[] kinds) =>
        new("office@practice.example", subject, sensitivity, image, kinds.ToHashSet());

    [Test]
    public async Task RuleEngine_FirstMatchWins_PerRecipient()
    {
        var engine = new RuleEngine(new Certificates("dr.lee@specialist.example"));
        var facts = Facts(image: true, kinds: "Radiograph");
        var lab = await engine.DecideAsync(Rules, facts, "Tech@SmileLab.example", CancellationToken.None);
        var withCert = await engine.DecideAsync(Rules, facts, "dr.lee@specialist.example", CancellationToken.None);
        var withoutCert = await engine.DecideAsync(Rules, facts, "patient@mail.example", CancellationToken.None);
        Assert.That(lab.Action, Is.EqualTo(RoutingAction.RequireTls));
        Assert.That(withCert.Action, Is.EqualTo(RoutingAction.Smime));
        Assert.That(withoutCert.Action, Is.EqualTo(RoutingAction.Pickup));
        Assert.That(withoutCert.Rule!.Name, Is.EqualTo("images-pickup"));
        Assert.That(withoutCert.Certificate!.Reason, Is.EqualTo("expired"), "the audit learns why S/MIME was not used");
        Assert.That(withoutCert.Trace[1], Does.Contain("no usable certificate (expired)"));
    }

    [Test]
    public async Task RuleEngine_CertificateStore_IsAskedOnlyWhenARuleNeedsIt()
    {
        var certificates = new Certificates();
        await new RuleEngine(certificates).DecideAsync(Rules, Facts(), "x@smilelab.example", CancellationToken.None);
        Assert.That(certificates.Calls, Is.Zero);
    }

    [TestCase("Referral [SECURE] for Mrs X", null, "marked-secure")]
    [TestCase("Referral", "Company-Confidential", "confidential")]
    [TestCase("Referral", "Private", "everything-else")]
    [TestCase("Referral", null, "everything-else")]
    public async Task RuleEngine_SubjectAndSensitivity_Match(string subject, string? sensitivity, string expectedRule)
    {
        var decision = await new RuleEngine(new Certificates()).DecideAsync(Rules, Facts(subject: subject, sensitivity: sensitivity), "a@b.example", CancellationToken.None);
        Assert.That(decision.Rule!.Name, Is.EqualTo(expectedRule));
    }

    [Test]
    public async Task RuleEngine_ImageKinds_MatchAnyListedKind()
    {
        var decision = await new RuleEngine(new Certificates()).DecideAsync(Rules, Facts(image: false, kinds: "Scan3D"), "a@b.example", CancellationToken.None);
        Assert.That(decision.Rule!.Name, Is.EqualTo("scans-only"));
    }

    [Test]
    public async Task RuleEngine_NoRuleMatches_DecidesNothing()
    {
        var rules = RuleSetParser.Parse(RuleSetParserTests.Json("""{ "Rules": [ { "Name": "only-lab", "When": { "RecipientDomains": ["lab.example"] }, "Action": "Relay" } ] }"""), RuleSetParserTests.Kinds).RuleSet!;
        var decision = await new RuleEngine(new Certificates()).DecideAsync(rules, Facts(), "a@b.example", CancellationToken.None);
        Assert.That(decision.Rule, Is.Null);
        Assert.That(decision.Trace[^1], Is.EqualTo("no rule matched"));
    }
}
