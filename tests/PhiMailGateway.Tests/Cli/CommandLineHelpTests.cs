using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

/// <summary>`--help` is help, and nothing that begins with '-' is taken as a name, id or address.</summary>
public class CommandLineHelpTests
{
    private TempDirectory _data = null!;

    [SetUp]
    public void SetUp() => _data = new TempDirectory();

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private async Task<(int Code, string Out, string Err)> Run(string stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_data.Path}"], new StringReader(stdin), stdout, stderr)
            .WaitAsync(TimeSpan.FromSeconds(60));
        return (code, stdout.ToString(), stderr.ToString());
    }

    [TestCase("serve", "--help", "serve ")]
    [TestCase("serve", "-h", "serve ")]
    [TestCase("users add", "--help", "users add NAME")]
    [TestCase("users remove", "-h", "users remove NAME")]
    [TestCase("users", "--help", "users list")]
    [TestCase("queue retry", "--help", "queue retry ID")]
    [TestCase("rules test", "--help", "rules test --eml FILE")]
    [TestCase("audit export", "--help", "audit export [--since DATE]")]
    [TestCase("audit verify", "-h", "audit verify")]
    [TestCase("certs import", "--help", "certs import FILE [--address ADDR]")]
    [TestCase("pickup revoke", "--help", "pickup revoke ID")]
    public async Task Verb_Help_PrintsItsUsageAndExitsZero(string verb, string flag, string expected)
    {
        var result = await Run("secret-password\n", [.. verb.Split(' '), flag]);
        Assert.That(result.Code, Is.EqualTo(0), result.Err);
        Assert.That(result.Out, Does.StartWith($"Usage: PhiMailGateway {verb.Split(' ')[0]} "));
        Assert.That(result.Out, Does.Contain(expected));
        if (!verb.StartsWith("pickup", StringComparison.Ordinal))
            Assert.That(result.Out, Does.Not.Contain("pickup revoke"), "only the verb's own lines");
        Assert.That(result.Err, Is.Empty);
    }

    [Test]
    public async Task UsersAdd_Help_CreatesNoUser()
    {
        await Run("secret-password\n", "users", "add", "--help");
        var list = await Run("", "users", "list");
        Assert.That(list.Code, Is.EqualTo(0), list.Err);
        Assert.That(list.Out, Does.Not.Contain("--help"));
    }

    [TestCase("users", "add", "-frontdesk")]
    [TestCase("users", "remove", "--force")]
    [TestCase("queue", "retry", "-1")]
    [TestCase("pickup", "revoke", "-abc")]
    [TestCase("certs", "remove", "-x")]
    public async Task Verb_ArgumentBeginningWithDash_RefusedWithUsage(string verb, string sub, string arg)
    {
        var result = await Run("secret-password\n", verb, sub, arg);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain($"unknown option '{arg}'"));
        Assert.That(result.Err, Does.Contain($"Usage: PhiMailGateway {verb} "));
        var list = await Run("", "users", "list");
        Assert.That(list.Out, Does.Not.Contain(arg), "nothing was created under that name");
    }

    [Test]
    public async Task Help_Verb_PrintsEveryVerb()
    {
        var result = await Run("", "--help");
        Assert.That(result.Code, Is.EqualTo(0));
        foreach (var verb in new[] { "serve", "users add", "queue list", "rules test", "audit verify", "certs import", "pickup revoke" })
            Assert.That(result.Out, Does.Contain(verb));
    }
}
