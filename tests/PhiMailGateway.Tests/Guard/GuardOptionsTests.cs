using PhiMailGateway.Guard;

namespace PhiMailGateway.Tests.Guard;

public class GuardOptionsTests
{
    private static IReadOnlyList<string> Errors(GuardOptions options) =>
        new GuardOptionsValidator().Validate(null, options) is { Failed: true } r ? r.Failures!.ToList() : [];

    [Test]
    public void Validate_Defaults_Pass()
    {
        Assert.That(Errors(new GuardOptions()), Is.Empty);
        var defaults = new GuardOptions();
        Assert.That((defaults.Lookalike, defaults.NewRecipient, defaults.NewPatientRecipient, defaults.MixedAudience),
            Is.EqualTo((GuardAction.Hold, GuardAction.Flag, GuardAction.Flag, GuardAction.Flag)), "the issue's defaults");
    }

    [TestCase(1)]
    [TestCase(10000)]
    public void Validate_MaxRecipientsAtItsBounds_Passes(int value) =>
        Assert.That(new GuardOptionsValidator().Validate(null, new GuardOptions { MaxRecipients = value }).Succeeded, Is.True);

    [Test]
    public void Validate_Defaults_Succeed() => Assert.That(new GuardOptionsValidator().Validate(null, new GuardOptions()).Succeeded, Is.True);

    [TestCase(0, "Guard:MaxRecipients: must be between 1 and 10000 (got 0).")]
    [TestCase(10001, "Guard:MaxRecipients: must be between 1 and 10000 (got 10001).")]
    public void Validate_MaxRecipientsOutOfRange_NamesTheKey(int value, string expected) =>
        Assert.That(Errors(new GuardOptions { MaxRecipients = value }), Is.EqualTo(new[] { expected }));

    [Test]
    public void Validate_WindowsOutOfRange_NameTheirKeys()
    {
        var errors = Errors(new GuardOptions { ConfirmWindow = TimeSpan.Zero, SendDelay = TimeSpan.FromSeconds(-1) });
        Assert.That(errors, Has.Count.EqualTo(2));
        Assert.That(errors[0], Does.StartWith("Guard:ConfirmWindow:"));
        Assert.That(errors[1], Does.StartWith("Guard:SendDelay:"));
        Assert.That(Errors(new GuardOptions { ConfirmWindow = TimeSpan.FromDays(31) }).Single(), Does.StartWith("Guard:ConfirmWindow:"));
        Assert.That(Errors(new GuardOptions { SendDelay = TimeSpan.FromHours(25) }).Single(), Does.StartWith("Guard:SendDelay:"));
        Assert.That(Errors(new GuardOptions { ConfirmWindow = TimeSpan.FromDays(30), SendDelay = TimeSpan.FromHours(24) }), Is.Empty, "the bounds themselves are fine");
    }

    [Test]
    public void Validate_NotADomainInAList_NamesTheKeyAndIndex()
    {
        var errors = Errors(new GuardOptions { KnownDomains = ["partner.example", "@lab.example"], WebmailDomains = ["nodot"] });
        Assert.That(errors, Is.EqualTo(new[]
        {
            "Guard:KnownDomains:1: '@lab.example' is not a domain name (write it without @, e.g. specialist.example).",
            "Guard:WebmailDomains:0: 'nodot' is not a domain name (write it without @, e.g. specialist.example).",
        }));
    }
}
