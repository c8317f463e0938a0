using PhiMailGateway.Direct;

namespace PhiMailGateway.Tests.Direct;

/// <summary>RFC 8461's policy file and TXT record, read as the RFC says.</summary>
public class MtaStsPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 12, 0, 0, TimeSpan.Zero);

    private static MtaStsPolicy? Parse(string body, out string? error) => MtaStsPolicy.Parse("example.test", "1", body, Now, out error);

    [Test]
    public void Parse_AValidPolicy_KeepsModeMxAndMaxAge_IgnoringUnknownFields()
    {
        var policy = Parse("version: STSv1\nmode: enforce\nmx: mail.example.test\nmx: *.backup.example.test\nmax_age: 604800\nextension: yes\n", out var error);

        Assert.That(error, Is.Null);
        Assert.That((policy!.Mode, policy.MaxAge, policy.ExpiresAt), Is.EqualTo((MtaStsMode.Enforce, TimeSpan.FromDays(7), Now.AddDays(7))));
        Assert.That(policy.Mx, Is.EqualTo(new[] { "mail.example.test", "*.backup.example.test" }));
    }

    [Test]
    public void Parse_MaxAgeOverAYear_IsCappedAtTheRfcsLongest()
    {
        var policy = Parse("version: STSv1\r\nmode: testing\r\nmx: mx.example.test\r\nmax_age: 999999999\r\n", out _);
        Assert.That(policy!.MaxAge, Is.EqualTo(MtaStsPolicy.LongestMaxAge));
    }

    [TestCase("mode: enforce\nmx: a.test\nmax_age: 60\n", "version is not STSv1")]
    [TestCase("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 60\n", "version is not STSv1")]
    [TestCase("version: STSv1\nmode: Enforce\nmx: a.test\nmax_age: 60\n", "mode is not enforce, testing or none")]
    [TestCase("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -5\n", "max_age is not a whole number of seconds")]
    [TestCase("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 99999999999\n", "max_age is not a whole number of seconds")]
    [TestCase("version: STSv1\nmode: enforce\nmax_age: 60\n", "no mx patterns")]
    [TestCase("<html>not a policy</html>\n", "a line is not 'key: value'")]
    public void Parse_NotAValidPolicy_SaysWhy(string body, string expected)
    {
        Assert.That(Parse(body, out var error), Is.Null);
        Assert.That(error, Is.EqualTo(expected));
    }

    [TestCase("mail.example.test", true)]
    [TestCase("MAIL.Example.Test.", true)]
    [TestCase("mx1.backup.example.test", true)]
    [TestCase("a.mx1.backup.example.test", false)]
    [TestCase("backup.example.test", false)]
    [TestCase("mail.example.test.evil.test", false)]
    [TestCase("xmail.example.test", false)]
    public void Allows_ExactNamesAndOneLabelWildcards(string host, bool allowed)
    {
        var policy = Parse("version: STSv1\nmode: enforce\nmx: mail.example.test\nmx: *.backup.example.test\nmax_age: 60\n", out _)!;
        Assert.That(policy.Allows(host), Is.EqualTo(allowed));
    }

    [TestCase("v=STSv1; id=20160831085700Z;", "20160831085700Z")]
    [TestCase("v=STSv1;id=abc", "abc")]
    [TestCase("v=STSv2; id=1", null)]
    [TestCase("id=1; v=STSv1", null)]
    [TestCase("v=STSv1; id=not-alphanumeric", null)]
    [TestCase("v=STSv1; id=123456789012345678901234567890123", null)]
    [TestCase("v=STSv1;", null)]
    public void RecordId_OnlyAWellFormedStsV1Record(string txt, string? id) =>
        Assert.That(MtaStsPolicy.RecordId(txt), Is.EqualTo(id));
}
