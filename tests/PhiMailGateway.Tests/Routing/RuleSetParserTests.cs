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
}
