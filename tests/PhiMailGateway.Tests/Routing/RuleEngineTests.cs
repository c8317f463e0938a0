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

    private static RuleSet Parse(string rulesJson) =>
        RuleSetParser.Parse(RuleSetParserTests.Json($$"""{ "Rules": {{rulesJson}} }"""), RuleSetParserTests.Kinds).RuleSet!;

    private static Task<RoutingDecision> DecideAsync(RuleSet rules, MessageFacts facts, string recipient, Certificates? certificates = null) =>
        new RuleEngine(certificates ?? new Certificates()).DecideAsync(rules, facts, recipient, CancellationToken.None);

    [TestCase("Dr.Lee@Specialist.example", "named-recipient")]
    [TestCase("dr.lee@specialist.example.evil", "everything-else")]
    [TestCase("x.dr.lee@specialist.example", "everything-else")]
    public async Task RuleEngine_RecipientAddresses_MatchTheWholeAddressIgnoringCase(string recipient, string expectedRule)
    {
        var rules = Parse("""[ { "Name": "named-recipient", "When": { "RecipientAddresses": ["DR.LEE@specialist.example"] }, "Action": "Relay" }, { "Name": "everything-else", "Action": "Pickup" } ]""");
        var decision = await DecideAsync(rules, Facts(), recipient);
        Assert.That(decision.Rule!.Name, Is.EqualTo(expectedRule));
        if (expectedRule != "named-recipient")
            Assert.That(decision.Trace[0], Is.EqualTo("rule 'named-recipient': skipped, recipient is not in RecipientAddresses"));
    }

    [TestCase("Office@Practice.example", "from-office")]
    [TestCase("billing@practice.example", "from-practice")]
    [TestCase("office@practice.example.evil", "everything-else")]
    public async Task RuleEngine_SenderAddressesAndDomains_MatchTheEnvelopeSenderIgnoringCase(string sender, string expectedRule)
    {
        var rules = Parse("""
            [ { "Name": "from-office", "When": { "SenderAddresses": ["office@PRACTICE.example"] }, "Action": "Relay" },
              { "Name": "from-practice", "When": { "SenderDomains": ["Practice.example"] }, "Action": "Smime" },
              { "Name": "everything-else", "Action": "Pickup" } ]
            """);
        var decision = await DecideAsync(rules, new MessageFacts(sender, "Referral", null, false, new HashSet<string>()), "a@b.example");
        Assert.That(decision.Rule!.Name, Is.EqualTo(expectedRule), string.Join("\n", decision.Trace));
    }

    [Test]
    public async Task RuleEngine_SkippedRules_SayWhichConditionFailed()
    {
        var rules = Parse("""
            [ { "Name": "lab", "When": { "RecipientDomains": ["smilelab.example"] }, "Action": "RequireTls" },
              { "Name": "from-lab", "When": { "SenderDomains": ["smilelab.example"] }, "Action": "Relay" },
              { "Name": "from-lee", "When": { "SenderAddresses": ["dr.lee@specialist.example"] }, "Action": "Relay" },
              { "Name": "images", "When": { "HasDentalImage": true }, "Action": "Pickup" },
              { "Name": "scans", "When": { "ImageKinds": ["Scan3D", "Dicom"] }, "Action": "Pickup" },
              { "Name": "marked", "When": { "SubjectContains": "[secure]" }, "Action": "Pickup" },
              { "Name": "private", "When": { "Sensitivity": "Private" }, "Action": "Pickup" },
              { "Name": "with-cert", "When": { "RecipientHasCertificate": true }, "Action": "Smime" },
              { "Name": "everything-else", "Action": "Relay" } ]
            """);
        var decision = await DecideAsync(rules, Facts(sensitivity: "Confidential"), "Patient@Mail.example");
        Assert.That(decision.Trace, Is.EqualTo(new[]
        {
            "rule 'lab': skipped, recipient domain mail.example is not in RecipientDomains",
            "rule 'from-lab': skipped, sender domain practice.example is not in SenderDomains",
            "rule 'from-lee': skipped, sender is not in SenderAddresses",
            "rule 'images': skipped, message has no dental image",
            "rule 'scans': skipped, no image of kind Scan3D/Dicom",
            "rule 'marked': skipped, subject does not contain '[secure]'",
            "rule 'private': skipped, sensitivity is company-confidential, not private",
            "rule 'with-cert': skipped, recipient has no usable certificate (expired)",
            "rule 'everything-else': matches -> Relay",
        }), "IT's dry run reads why each rule did not apply");
    }

    [Test]
    public async Task RuleEngine_RulesForMessagesWithoutImagesOrCertificates_SkipThoseThatHaveThem()
    {
        var rules = Parse("""
            [ { "Name": "text-only", "When": { "HasDentalImage": false }, "Action": "Relay" },
              { "Name": "no-cert", "When": { "RecipientHasCertificate": false }, "Action": "Pickup" },
              { "Name": "everything-else", "Action": "Smime" } ]
            """);
        var withImage = Facts(image: true, kinds: "Radiograph");

        var noCertificate = await DecideAsync(rules, withImage, "patient@mail.example");
        var withCertificate = await DecideAsync(rules, withImage, "dr.lee@specialist.example", new Certificates("dr.lee@specialist.example"));
        var text = await DecideAsync(rules, Facts(), "patient@mail.example");

        Assert.That(noCertificate.Rule!.Name, Is.EqualTo("no-cert"));
        Assert.That(noCertificate.Trace[0], Is.EqualTo("rule 'text-only': skipped, message has a dental image"));
        Assert.That(withCertificate.Rule!.Name, Is.EqualTo("everything-else"));
        Assert.That(withCertificate.Trace[1], Is.EqualTo("rule 'no-cert': skipped, recipient has a usable certificate"));
        Assert.That(text.Rule!.Name, Is.EqualTo("text-only"));
    }

    [Test]
    public async Task RuleEngine_CertificateWithoutReason_SkippedWithoutParentheses()
    {
        var rules = Parse("""[ { "Name": "with-cert", "When": { "RecipientHasCertificate": true }, "Action": "Smime" }, { "Name": "rest", "Action": "Pickup" } ]""");
        var certificates = new NoReasonCertificates();
        var decision = await new RuleEngine(certificates).DecideAsync(rules, Facts(), "a@b.example", CancellationToken.None);
        Assert.That(decision.Trace[0], Is.EqualTo("rule 'with-cert': skipped, recipient has no usable certificate"));
    }

    private sealed class NoReasonCertificates : IRecipientCertificates
    {
        public Task<CertificateAvailability> CheckAsync(string address, CancellationToken cancellationToken) =>
            Task.FromResult(new CertificateAvailability(false, null));
    }

    [Test]
    public async Task RuleEngine_TwoRulesAskingForTheCertificate_CheckItOnce()
    {
        var rules = Parse("""
            [ { "Name": "a", "When": { "RecipientHasCertificate": true, "HasDentalImage": true }, "Action": "Smime" },
              { "Name": "b", "When": { "RecipientHasCertificate": true }, "Action": "Smime" },
              { "Name": "c", "Action": "Pickup" } ]
            """);
        var certificates = new Certificates();
        var decision = await DecideAsync(rules, Facts(image: true, kinds: "Radiograph"), "a@b.example", certificates);
        Assert.That(decision.Rule!.Name, Is.EqualTo("c"));
        Assert.That(certificates.Calls, Is.EqualTo(1), "the store is asked once per recipient, not once per rule");
        Assert.That(decision.Certificate!.Usable, Is.False, "the answer is kept for the audit");
    }

    [TestCase("radiograph", "kinds")]
    [TestCase("ClinicalPhoto", "everything-else")]
    public async Task RuleEngine_ImageKinds_CompareIgnoringCase(string kind, string expectedRule)
    {
        var rules = Parse("""[ { "Name": "kinds", "When": { "ImageKinds": ["Dicom", "Radiograph"] }, "Action": "Pickup" }, { "Name": "everything-else", "Action": "Relay" } ]""");
        var decision = await DecideAsync(rules, Facts(image: true, kinds: kind), "a@b.example");
        Assert.That(decision.Rule!.Name, Is.EqualTo(expectedRule));
    }

    [Test]
    public async Task RuleEngine_RecipientWithoutDomain_MatchesNoDomainRule()
    {
        var rules = Parse("""[ { "Name": "lab", "When": { "RecipientDomains": ["smilelab.example"] }, "Action": "Relay" }, { "Name": "rest", "Action": "Pickup" } ]""");
        var decision = await DecideAsync(rules, Facts(), "postmaster");
        Assert.That(decision.Trace[0], Is.EqualTo("rule 'lab': skipped, recipient domain  is not in RecipientDomains"));
    }

    [Test]
    public async Task RuleEngine_NoRuleMatches_DecidesNothing()
    {
        var rules = RuleSetParser.Parse(RuleSetParserTests.Json("""{ "Rules": [ { "Name": "only-lab", "When": { "RecipientDomains": ["lab.example"] }, "Action": "Relay" } ] }"""), RuleSetParserTests.Kinds).RuleSet!;
        var decision = await new RuleEngine(new Certificates()).DecideAsync(rules, Facts(), "a@b.example", CancellationToken.None);
        Assert.That(decision.Rule, Is.Null);
        Assert.That(decision.Trace[^1], Is.EqualTo("no rule matched"));
    }

    [TestCase(null, "normal-only")]
    [TestCase("normal", "normal-only")]
    [TestCase("Private", "everything-else")]
    public async Task RuleEngine_SensitivityNormal_MatchesAMessageWithoutTheHeader(string? sensitivity, string expectedRule)
    {
        var rules = Parse("""[ { "Name": "normal-only", "When": { "Sensitivity": "Normal" }, "Action": "Relay" }, { "Name": "everything-else", "Action": "Pickup" } ]""");
        var decision = await DecideAsync(rules, Facts(sensitivity: sensitivity), "a@b.example");
        Assert.That(decision.Rule!.Name, Is.EqualTo(expectedRule), "no Sensitivity header is Outlook's Normal");
    }

    [Test]
    public async Task RuleEngine_AddressStartingWithAt_DomainIsWhatFollowsIt()
    {
        var rules = Parse("""[ { "Name": "lab", "When": { "RecipientDomains": ["smilelab.example"] }, "Action": "RequireTls" }, { "Name": "rest", "Action": "Pickup" } ]""");
        var decision = await DecideAsync(rules, Facts(), "@smilelab.example");
        Assert.That(decision.Rule!.Name, Is.EqualTo("lab"), "the domain is everything after the last '@', wherever it stands");
    }
}

/// <summary>What a TlsFirst decision becomes when direct delivery cannot take the copy.</summary>
public class RoutingFallbackTests
{
    private static RoutingDecision Decision(string recipient, string json)
    {
        var rule = RuleSetParser.Parse(RuleSetParserTests.Json(json), RuleSetParserTests.Kinds).RuleSet!.Rules.Single();
        return new RoutingDecision(recipient, rule, [], null);
    }

    [Test]
    public void FallingBack_TlsFirst_TakesTheRulesFallback_AndSaysWhy()
    {
        var decision = Decision("dr@x.example", """{ "Rules": [ { "Name": "direct", "Action": "TlsFirst", "Fallback": "Smime" } ] }""");
        Assert.That(decision.Action, Is.EqualTo(RoutingAction.TlsFirst));

        var fallen = decision.FallingBack("no MX with verified TLS");

        Assert.That((fallen.Action, fallen.FellBackBecause, fallen.Rule!.Name), Is.EqualTo((RoutingAction.Smime, "no MX with verified TLS", "direct")));
    }

    [Test]
    public void FallingBack_AnyOtherAction_StaysAsItIs()
    {
        var decision = Decision("dr@x.example", """{ "Rules": [ { "Name": "relay", "Action": "Relay" } ] }""");
        Assert.That(decision.FallingBack("whatever"), Is.SameAs(decision));
    }

    [Test]
    public void FallingBackToReject_TheSenderIsToldWhy_UnlessTheRuleHasItsOwnMessage()
    {
        var plain = Decision("a@x.example", """{ "Rules": [ { "Name": "direct", "Action": "TlsFirst", "Fallback": "Reject" } ] }""");
        var worded = Decision("b@y.example", """{ "Rules": [ { "Name": "strict", "Action": "TlsFirst", "Fallback": "Reject", "Message": "Call the office." } ] }""");

        var plan = new RoutingPlan([plain, worded], []).FallingBack("no MX with verified TLS");

        Assert.That(plan.Rejections.Select(r => (r.Recipient, r.Message)), Is.EqualTo(new[]
        {
            ("a@x.example", "Not sent: the recipient's mail server could not be reached over verified encryption (no MX with verified TLS; rule direct)."),
            ("b@y.example", "Call the office."),
        }));
        Assert.That(new RoutingPlan([plain], []).Rejections, Is.Empty, "before the fallback nothing is refused");
    }

    [Test]
    public void Released_HoldTakesPickup_KeepingWhyItFellBack_AnyOtherActionStays()
    {
        var held = Decision("dr@x.example", """{ "Rules": [ { "Name": "direct", "Action": "TlsFirst", "Fallback": "Hold" } ] }""").FallingBack("no MX with verified TLS");
        Assert.That(held.Action, Is.EqualTo(RoutingAction.Hold));

        var released = held.Released();

        Assert.That((released.Action, released.FellBackBecause, released.Rule!.Name), Is.EqualTo((RoutingAction.Pickup, "no MX with verified TLS", "direct")));
        var relay = Decision("lab@y.example", """{ "Rules": [ { "Name": "relay", "Action": "Relay" } ] }""");
        Assert.That(relay.Released(), Is.SameAs(relay));
        var smime = Decision("dr@x.example", """{ "Rules": [ { "Name": "direct", "Action": "TlsFirst", "Fallback": "Smime" } ] }""").FallingBack("x");
        Assert.That(smime.Released().Action, Is.EqualTo(RoutingAction.Smime), "only a Hold changes");
        Assert.That(new RoutingPlan([held, relay], []).Released().Decisions.Values.Select(d => d.Action),
            Is.EqualTo(new RoutingAction?[] { RoutingAction.Pickup, RoutingAction.Relay }));
    }

    [Test]
    public void RoutingPlan_RejectRuleWithoutMessage_TheSenderIsToldThePolicyRefusedIt_NamingTheRule()
    {
        var refused = Decision("a@x.example", """{ "Rules": [ { "Name": "no-webmail", "Action": "Reject" } ] }""");
        Assert.That(new RoutingPlan([refused], []).Rejections.Single().Message, Is.EqualTo("Refused by the practice's mail policy (rule no-webmail)."));
    }

    [Test]
    public void RoutingPlan_UndecidedOrTwiceDecidedRecipient_Refused()
    {
        var decided = Decision("a@x.example", """{ "Rules": [ { "Name": "relay", "Action": "Relay" } ] }""");
        var undecided = new RoutingDecision("b@x.example", null, [], null);
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new RoutingPlan([decided, undecided], []))!.Message, Does.StartWith("A plan holds only decided recipients."));
        Assert.That(Assert.Throws<ArgumentException>(() => _ = new RoutingPlan([decided, decided with { }], []))!.Message, Does.StartWith("A plan decides each recipient once."));
    }

    [Test]
    public void RoutingPlan_Only_KeepsTheNamedRecipients_WhateverTheirCase()
    {
        var a = Decision("a@x.example", """{ "Rules": [ { "Name": "relay", "Action": "Relay" } ] }""");
        var b = Decision("b@y.example", """{ "Rules": [ { "Name": "relay", "Action": "Relay" } ] }""");
        Assert.That(new RoutingPlan([a, b], ["[secure]"]).Only(["B@Y.example"]).Decisions.Keys, Is.EqualTo(new[] { "b@y.example" }));
        Assert.That(new RoutingPlan([a, b], ["[secure]"]).Only([]).SubjectTags, Is.EqualTo(new[] { "[secure]" }));
    }
}

