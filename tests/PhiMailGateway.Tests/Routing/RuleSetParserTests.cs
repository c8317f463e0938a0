using Microsoft.Extensions.Configuration;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Tests.Routing;

public class RuleSetParserTests
{
    internal static readonly string[] Kinds = ["Dicom", "Radiograph", "ClinicalPhoto", "Scan3D", "ProprietaryImaging", "Decoration"];

    internal static IConfiguration Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json))).Build();

    [Test]
    public void RuleSetParser_NoRules_UsesBuiltInDefaultThatProtectsImages()
    {
        var result = RuleSetParser.Parse(Json("{}"), Kinds);
        Assert.That(result.RuleSet, Is.SameAs(RuleSet.BuiltInDefault));
        Assert.That(result.RuleSet!.Rules.Select(r => r.Action), Is.EqualTo(new[] { RoutingAction.Smime, RoutingAction.Pickup, RoutingAction.Relay }));
    }

    [Test]
    public void RuleSetParser_DesignExample_ParsesInOrder()
    {
        var result = RuleSetParser.Parse(Json("""
            { "Rules": [
              { "Name": "lab-partner-tls", "When": { "RecipientDomains": ["SmileLab.example"] }, "Action": "RequireTls" },
              { "Name": "images-smime", "When": { "HasDentalImage": true, "RecipientHasCertificate": true }, "Action": "Smime" },
              { "Name": "images-pickup", "When": { "HasDentalImage": true }, "Action": "Pickup", "Purpose": "Payment" },
              { "Name": "marked-secure", "When": { "SubjectContains": "[secure]" }, "Action": "Pickup" },
              { "Name": "no-kids", "When": { "RecipientDomains": "blocked.example" }, "Action": "Reject", "Message": "Not allowed" },
              { "Name": "everything-else", "Action": "Relay" }
            ] }
            """), Kinds);
        Assert.That(result.Errors, Is.Empty);
        var rules = result.RuleSet!.Rules;
        Assert.That(rules.Select(r => r.Name), Is.EqualTo(new[] { "lab-partner-tls", "images-smime", "images-pickup", "marked-secure", "no-kids", "everything-else" }));
        Assert.That(rules[0].When.RecipientDomains, Is.EqualTo(new[] { "smilelab.example" }), "domains compare case-insensitively");
        Assert.That(rules[2].Purpose, Is.EqualTo("Payment"));
        Assert.That(rules[1].Purpose, Is.EqualTo("Treatment"), "HIPAA purpose defaults to treatment");
        Assert.That(rules[4].When.RecipientDomains, Is.EqualTo(new[] { "blocked.example" }), "a single string is a one-item list");
        Assert.That(rules[4].Message, Is.EqualTo("Not allowed"));
        Assert.That(result.RuleSet.SubjectTags, Is.EqualTo(new[] { "[secure]" }));
    }

    [Test]
    public void RuleSetParser_GuardHolds_RecipientByDefaultMessageWhenSaid()
    {
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "Name": "a", "Action": "Pickup", "GuardHolds": "message" }, { "Name": "b", "Action": "Relay" } ] }"""), Kinds);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.RuleSet!.Rules.Select(r => r.GuardHolds), Is.EqualTo(new[] { GuardHoldScope.Message, GuardHoldScope.Recipient }));
    }

    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Encrypt" } ] }""", "Rules:0 (x): Action 'Encrypt' is not one of")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "HasDentalImages": true }, "Action": "Relay" } ] }""", "Rules:0 (x): unknown condition When.HasDentalImages")]
    [TestCase("""{ "Rules": [ { "Name": "", "Action": "Relay" } ] }""", "Rules:0: Name is required")]
    [TestCase("""{ "Rules": [ { "Name": "a", "Action": "Relay" }, { "Name": "A", "Action": "Relay" } ] }""", "Rules:1 (A): Name 'A' is used by an earlier rule")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "HasDentalImage": "yes" }, "Action": "Relay" } ] }""", "Rules:0 (x): When.HasDentalImage must be true or false")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "ImageKinds": ["Xray"] }, "Action": "Pickup" } ] }""", "Rules:0 (x): When.ImageKinds 'Xray' is not an image kind")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Relay", "Acton": "Reject" } ] }""", "Rules:0 (x): unknown field 'Acton'")]
    [TestCase("""{ "Rules": [ { "Name": "x" } ] }""", "Rules:0 (x): Action is required")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "Sensitivity": "Secret" }, "Action": "Pickup" } ] }""", "Rules:0 (x): When.Sensitivity 'Secret' is not one of")]
    public void RuleSetParser_BadRule_NamesRuleAndField(string json, string expected)
    {
        var result = RuleSetParser.Parse(Json(json), Kinds);
        Assert.That(result.RuleSet, Is.Null);
        Assert.That(result.Errors, Has.Some.StartsWith(expected));
    }

    [TestCase("""{ "Rules": [ { "Name": "x", "When": "always", "Action": "Relay" } ] }""", "Rules:0 (x): When must be an object of conditions.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "RecipientDomains": [] }, "Action": "Relay" } ] }""", "Rules:0 (x): When.RecipientDomains must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "RecipientDomains": ["lab.example", " "] }, "Action": "Relay" } ] }""", "Rules:0 (x): When.RecipientDomains must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "SenderAddresses": "" }, "Action": "Relay" } ] }""", "Rules:0 (x): When.SenderAddresses must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "SubjectContains": " " }, "Action": "Pickup" } ] }""", "Rules:0 (x): When.SubjectContains must be a non-empty string.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "RecipientHasCertificate": "maybe" }, "Action": "Smime" } ] }""", "Rules:0 (x): When.RecipientHasCertificate must be true or false (got 'maybe').")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Pickup", "Purpose": " " } ] }""", "Rules:0 (x): Purpose must not be empty when given.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "3" } ] }""", "Rules:0 (x): Action '3' is not one of")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Pickup", "GuardHolds": "Everything" } ] }""", "Rules:0 (x): GuardHolds 'Everything' is not one of Recipient, Message.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Pickup", "GuardHolds": "1" } ] }""", "Rules:0 (x): GuardHolds '1' is not one of")]
    [TestCase("""{ "Rules": { "first": { "Name": "x", "Action": "Relay" } } }""", "Rules: must be a list of rules")]
    [TestCase("""{ "Rules": { "0": { "Name": "x", "Action": "Relay" }, "first": { "Name": "y", "Action": "Relay" } } }""", "Rules: must be a list of rules")]
    public void RuleSetParser_BadConditionOrField_RefusedWithTheExactReason(string json, string expected)
    {
        var result = RuleSetParser.Parse(Json(json), Kinds);
        Assert.That(result.RuleSet, Is.Null, "one bad rule refuses the whole set: a half-read set could relay what a missing rule would protect");
        Assert.That(result.Errors, Has.Some.StartsWith(expected), string.Join("\n", result.Errors));
    }

    [Test]
    public void RuleSetParser_TwoBadRules_ReportsBoth()
    {
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "Name": "a", "Action": "Encrypt" }, { "Name": "b", "Action": "Relay" }, { "Action": "Relay" } ] }"""), Kinds);
        Assert.That(result.RuleSet, Is.Null);
        Assert.That(result.Errors, Has.Count.EqualTo(2), string.Join("\n", result.Errors));
        Assert.That(result.Errors[1], Does.StartWith("Rules:2: Name is required"));
    }

    [Test]
    public void RuleSetParser_MoreThanTenRules_KeepTheirNumericOrder()
    {
        var rules = string.Join(", ", Enumerable.Range(0, 12).Select(i => $$"""{ "Name": "r{{i}}", "When": { "RecipientAddresses": [" R{{i}}@Lab.example "] }, "Action": "Relay" }"""));
        var result = RuleSetParser.Parse(Json($$"""{ "Rules": [ {{rules}} ] }"""), Kinds);
        Assert.That(result.Errors, Is.Empty);
        Assert.That(result.RuleSet!.Rules.Select(r => r.Name), Is.EqualTo(Enumerable.Range(0, 12).Select(i => $"r{i}")), "r10 comes after r9, not after r1: first match wins");
        Assert.That(result.RuleSet.Rules[11].When.RecipientAddresses, Is.EqualTo(new[] { "r11@lab.example" }), "trimmed and lower case");
        Assert.That(result.RuleSet.Rules[0].Action, Is.EqualTo(RoutingAction.Relay));
        Assert.That(result.RuleSet.Rules[0].Message, Is.Null);
    }

    [Test]
    public void RuleSetParser_EveryCondition_ReadIntoTheRule()
    {
        var result = RuleSetParser.Parse(Json("""
            { "Rules": [ { "Name": "all", "Action": "pickup", "When": {
                "RecipientDomains": ["Lab.example"], "RecipientAddresses": ["A@Lab.example"], "SenderDomains": ["Practice.example"],
                "SenderAddresses": ["Office@Practice.example"], "HasDentalImage": false, "ImageKinds": ["scan3d"],
                "SubjectContains": "[Secure]", "RecipientHasCertificate": false, "Sensitivity": "private" } } ] }
            """), Kinds);
        Assert.That(result.Errors, Is.Empty);
        var rule = result.RuleSet!.Rules.Single();
        Assert.That(rule.Action, Is.EqualTo(RoutingAction.Pickup), "actions ignore case");
        Assert.That(result.RuleSet.IsBuiltInDefault, Is.False);
        var when = rule.When;
        Assert.That((when.RecipientDomains!.Single(), when.RecipientAddresses!.Single(), when.SenderDomains!.Single(), when.SenderAddresses!.Single()),
            Is.EqualTo(("lab.example", "a@lab.example", "practice.example", "office@practice.example")));
        Assert.That((when.HasDentalImage, when.RecipientHasCertificate, when.SubjectContains, when.Sensitivity), Is.EqualTo(((bool?)false, (bool?)false, "[Secure]", "private")));
        Assert.That(when.ImageKinds, Is.EqualTo(new[] { "scan3d" }));
    }

    /// <summary>
    /// The whole text of each refusal, not only its start: the list of what would have been valid
    /// is how IT fixes a misspelt field without opening the documentation.
    /// </summary>
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Relay", "Acton": "Reject" } ] }""",
        "Rules:0 (x): unknown field 'Acton' (fields: Name, When, Action, Fallback, Message, Purpose, GuardHolds).")]
    [TestCase("""{ "Rules": [ { "Name": "x" } ] }""", "Rules:0 (x): Action is required (Smime, Pickup, RequireTls, TlsFirst, Relay, Reject, Hold).")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Encrypt" } ] }""", "Rules:0 (x): Action 'Encrypt' is not one of Smime, Pickup, RequireTls, TlsFirst, Relay, Reject, Hold.")]
    [TestCase("""{ "Rules": [ { "Name": " ", "Action": "Relay" } ] }""", "Rules:0: Name is required.")]
    [TestCase("""{ "Rules": [ { "Name": "a", "Action": "Relay" }, { "Name": "A", "Action": "Relay" } ] }""", "Rules:1 (A): Name 'A' is used by an earlier rule.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "HasDentalImages": true }, "Action": "Relay" } ] }""",
        "Rules:0 (x): unknown condition When.HasDentalImages (conditions: RecipientDomains, RecipientAddresses, SenderDomains, SenderAddresses, HasDentalImage, ImageKinds, SubjectContains, RecipientHasCertificate, Sensitivity).")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "ImageKinds": "Xray" }, "Action": "Pickup" } ] }""",
        "Rules:0 (x): When.ImageKinds 'Xray' is not an image kind (Dicom, Radiograph, ClinicalPhoto, Scan3D, ProprietaryImaging, Decoration).")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "Sensitivity": "Secret" }, "Action": "Pickup" } ] }""",
        "Rules:0 (x): When.Sensitivity 'Secret' is not one of Normal, Personal, Private, Confidential, Company-Confidential.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "HasDentalImage": "yes" }, "Action": "Relay" } ] }""", "Rules:0 (x): When.HasDentalImage must be true or false (got 'yes').")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "ImageKinds": [] }, "Action": "Relay" } ] }""", "Rules:0 (x): When.ImageKinds must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "RecipientAddresses": [""] }, "Action": "Relay" } ] }""", "Rules:0 (x): When.RecipientAddresses must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "SenderDomains": [" "] }, "Action": "Relay" } ] }""", "Rules:0 (x): When.SenderDomains must be a non-empty list of non-empty strings.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "When": { "Sensitivity": "" }, "Action": "Pickup" } ] }""", "Rules:0 (x): When.Sensitivity must be a non-empty string.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "Pickup", "Fallback": "Reject" } ] }""", "Rules:0 (x): Fallback is only for Action TlsFirst.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "Relay" } ] }""", "Rules:0 (x): Fallback 'Relay' is not one of Pickup, Smime, Reject, Hold.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "TlsFirst" } ] }""", "Rules:0 (x): Fallback 'TlsFirst' is not one of Pickup, Smime, Reject, Hold.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "2" } ] }""", "Rules:0 (x): Fallback '2' is not one of Pickup, Smime, Reject, Hold.")]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "1" } ] }""", "Rules:0 (x): Fallback '1' is not one of Pickup, Smime, Reject, Hold.")]
    public void RuleSetParser_BadRule_ExactErrorListsWhatIsValid(string json, string expected)
    {
        var result = RuleSetParser.Parse(Json(json), Kinds);
        Assert.That(result.RuleSet, Is.Null);
        Assert.That(result.Errors, Is.EqualTo(new[] { expected }), "one problem, one line");
    }

    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst" } ] }""", RoutingAction.Pickup, null)]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "tlsfirst", "Fallback": "smime" } ] }""", RoutingAction.Smime, RoutingAction.Smime)]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "Reject", "Message": "No verified TLS" } ] }""", RoutingAction.Reject, RoutingAction.Reject)]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": " " } ] }""", RoutingAction.Pickup, null)]
    [TestCase("""{ "Rules": [ { "Name": "x", "Action": "TlsFirst", "Fallback": "hold" } ] }""", RoutingAction.Hold, RoutingAction.Hold)]
    public void RuleSetParser_TlsFirst_FallbackIsPickupUnlessTheRuleSaysOtherwise(string json, RoutingAction fallsBackTo, RoutingAction? written)
    {
        var rule = RuleSetParser.Parse(Json(json), Kinds).RuleSet!.Rules.Single();
        Assert.That((rule.Action, rule.Fallback, rule.FallbackAction), Is.EqualTo((RoutingAction.TlsFirst, written, fallsBackTo)));
    }

    [Test]
    public void RuleSetParser_BlankFallbackOnAnotherAction_SaysNothing()
    {
        var rule = RuleSetParser.Parse(Json("""{ "Rules": [ { "Name": "x", "Action": "Relay", "Fallback": "" } ] }"""), Kinds).RuleSet!.Rules.Single();
        Assert.That((rule.Action, rule.Fallback), Is.EqualTo((RoutingAction.Relay, (RoutingAction?)null)));
    }

    [Test]
    public void RuleSetParser_NoRules_TheBuiltInDefaultForDirectDeliverySendsImagesTlsFirst()
    {
        var rules = RuleSetParser.Parse(Json("{}"), Kinds, RuleSet.DefaultFor(directEnabled: true)).RuleSet!.Rules;
        Assert.That(rules.Select(r => (r.Name, r.Action)), Is.EqualTo(new[]
        {
            ("images-smime", RoutingAction.Smime), ("images-tls-first", RoutingAction.TlsFirst), ("everything-else", RoutingAction.Relay),
        }));
        Assert.That(rules[1].FallbackAction, Is.EqualTo(RoutingAction.Pickup));
        Assert.That(RuleSetParser.Parse(Json("{}"), Kinds, RuleSet.DefaultFor(directEnabled: false)).RuleSet, Is.SameAs(RuleSet.BuiltInDefault));
    }

    [Test]
    public void RuleSetParser_OneRuleWithSeveralProblems_ReportsEachOnce()
    {
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "Acton": "Relay", "When": { "HasDentalImage": "yes", "Subject": "x" } } ] }"""), Kinds);
        Assert.That(result.RuleSet, Is.Null);
        Assert.That(result.Errors, Is.EqualTo(new[]
        {
            "Rules:0: unknown field 'Acton' (fields: Name, When, Action, Fallback, Message, Purpose, GuardHolds).",
            "Rules:0: Name is required.",
            "Rules:0: Action is required (Smime, Pickup, RequireTls, TlsFirst, Relay, Reject, Hold).",
            "Rules:0: unknown condition When.Subject (conditions: RecipientDomains, RecipientAddresses, SenderDomains, SenderAddresses, HasDentalImage, ImageKinds, SubjectContains, RecipientHasCertificate, Sensitivity).",
            "Rules:0: When.HasDentalImage must be true or false (got 'yes').",
        }), string.Join("\n", result.Errors));
    }

    [Test]
    public void RuleSetParser_GoodRuleAfterABadOne_TheWholeSetIsStillRefused()
    {
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "Name": "bad", "Action": "Encrypt" }, { "Name": "good", "Action": "Pickup" } ] }"""), Kinds);
        Assert.That((result.RuleSet, result.Errors.Count), Is.EqualTo(((RuleSet?)null, 1)));
    }

    [Test]
    public void RuleSetParser_EmptyWhenObjectAndKnownFieldsInAnyCase_ParseAsARuleThatAlwaysMatches()
    {
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "name": "all", "when": { }, "ACTION": "Pickup", "message": "m", "purpose": "Operations" } ] }"""), Kinds);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        var rule = result.RuleSet!.Rules.Single();
        Assert.That((rule.Name, rule.Action, rule.Message, rule.Purpose), Is.EqualTo(("all", RoutingAction.Pickup, "m", "Operations")));
        Assert.That(rule.When, Is.EqualTo(RuleConditions.Always));
    }

    [Test]
    public void RuleSetParser_WhenAsAnEmptyString_ReadsAsNoConditions()
    {
        // An environment variable (Rules__0__When=) can only give an empty string: it means an empty section, like no When at all.
        var result = RuleSetParser.Parse(Json("""{ "Rules": [ { "Name": "all", "When": "", "Action": "Pickup" } ] }"""), Kinds);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        Assert.That(result.RuleSet!.Rules.Single().When, Is.EqualTo(RuleConditions.Always));
    }

    [TestCase("Normal")]
    [TestCase("Personal")]
    [TestCase("private")]
    [TestCase(" Private ")]
    [TestCase("CONFIDENTIAL")]
    [TestCase("company-confidential")]
    public void RuleSetParser_SensitivityInAnyCaseOrSpacing_Accepted(string sensitivity)
    {
        var result = RuleSetParser.Parse(Json($$"""{ "Rules": [ { "Name": "s", "When": { "Sensitivity": "{{sensitivity}}" }, "Action": "Pickup" } ] }"""), Kinds);
        Assert.That(result.Errors, Is.Empty, string.Join("\n", result.Errors));
        Assert.That(result.RuleSet!.Rules.Single().When.Sensitivity, Is.EqualTo(sensitivity));
    }

    [TestCase(null, "normal")]
    [TestCase("", "normal")]
    [TestCase(" Confidential ", "company-confidential")]
    [TestCase("Company-Confidential", "company-confidential")]
    [TestCase("PRIVATE", "private")]
    public void MessageSensitivity_Normalize_OneSpellingPerLevel(string? value, string expected) =>
        Assert.That(MessageSensitivity.Normalize(value), Is.EqualTo(expected));
}
