using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;

namespace PhiMailGateway.Tests.Cli;

public class UsersCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "phimail-cli-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private async Task<(int Code, string Out, string Err)> Run(string? stdin, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_dir}"], new StringReader(stdin ?? ""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task UsersCommand_AddAddAgainListRemove_AddsLowercasedUpdatesThePasswordListsDatesAndRemoves()
    {
        var added = await Run("Tooth-Fairy-Lives-42\n", "users", "add", "FrontDesk");
        Assert.That(added.Code, Is.EqualTo(0), added.Err);
        Assert.That(added.Out.Trim(), Is.EqualTo("Added user frontdesk"));

        var updated = await Run("Another-Staple-Battery\r\n", "users", "add", "frontdesk");
        Assert.That(updated.Code, Is.EqualTo(0), updated.Err);
        Assert.That(updated.Out.Trim(), Is.EqualTo("Updated password for frontdesk"));

        var listed = await Run(null, "users", "list");
        Assert.That(listed.Code, Is.EqualTo(0), listed.Err);
        Assert.That(listed.Out, Does.Contain("frontdesk"));
        Assert.That(listed.Out, Does.Match(@"frontdesk\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z\s+\d{4}-\d{2}-\d{2}"), "name, created, updated");

        var removed = await Run(null, "users", "remove", "frontdesk");
        Assert.That(removed.Code, Is.EqualTo(0), removed.Err);
        Assert.That(removed.Out.Trim(), Is.EqualTo("Removed user frontdesk"));

        var empty = await Run(null, "users", "list");
        Assert.That(empty.Out.Trim(), Is.EqualTo("No users."));
    }

    [Test]
    public async Task UsersCommand_AddStripsLineEnd_PasswordVerifiesWithoutCrLf()
    {
        await Run("s3cret-enough-pass\r\nsecond line ignored\n", "users", "add", "frontdesk");
        var users = new SqlUserDirectory(new GatewayDatabase(Path.Combine(_dir, "gateway.db")));
        Assert.That(await users.VerifyAsync("frontdesk", "s3cret-enough-pass", CancellationToken.None), Is.True);
        Assert.That(await users.VerifyAsync("frontdesk", "s3cret-enough-pass\r", CancellationToken.None), Is.False);
    }

    [TestCase("")]
    [TestCase("\n")]
    [TestCase("\r\n")]
    public async Task UsersCommand_AddEmptyPassword_Exit2(string stdin)
    {
        var result = await Run(stdin, "users", "add", "frontdesk");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("no password"));
        Assert.That(result.Out, Is.Empty);
    }

    [Test]
    public async Task UsersCommand_RemoveUnknown_Exit1()
    {
        var result = await Run(null, "users", "remove", "nobody");
        Assert.That(result.Code, Is.EqualTo(1));
        Assert.That(result.Err, Does.Contain("nobody"));
    }

    [Test]
    public async Task UsersCommand_InvalidName_Exit2NamingTheRule()
    {
        var result = await Run("pw\n", "users", "add", "front desk");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("1 to 64 characters"));
    }

    [TestCase()]
    [TestCase("add")]
    [TestCase("list", "extra")]
    [TestCase("frobnicate")]
    public async Task UsersCommand_BadArguments_Exit2WithUsage(params string[] rest)
    {
        var result = await Run("pw\n", ["users", .. rest]);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("Usage:"));
    }

    [TestCase("--Smtp:Port=abc", "Smtp:Port")]
    [TestCase("--Gateway:Domains:0=not a domain", "Gateway:Domains:0")]
    [TestCase("--Smtp:TrustedNetworks:0=10.0.0.0/99", "Smtp:TrustedNetworks:0")]
    public async Task UsersCommand_BadConfigValue_Exit2NamingTheKey(string overrideArg, string key)
    {
        var result = await Run(null, "users", "list", overrideArg);
        Assert.That(result.Code, Is.EqualTo(2), result.Out);
        Assert.That(result.Err, Does.Contain("Configuration error"));
        Assert.That(result.Err, Does.Contain(key));
    }

    [Test]
    public async Task UsersCommand_BadConfig_DoesNotTouchDataDirectory()
    {
        await Run("Tooth-Fairy-Lives-42\n", "users", "add", "frontdesk", "--Smtp:Port=abc");
        Assert.That(Directory.Exists(_dir), Is.False, "validation runs before any state is created");
    }

    [TestCase("x", "shorter than 10 characters")]
    [TestCase("short1!", "shorter than 10 characters")]
    [TestCase("password123", "attackers try first")]
    [TestCase("Qwertyuiop", "attackers try first")]
    [TestCase("aaaaaaaaaaaa", "repeats one or two characters")]
    [TestCase("abababababab", "repeats one or two characters")]
    [TestCase("3456789:;<=>", "run of consecutive characters")]
    [TestCase("frontdesk-2026", "contains the user name")]
    public async Task UsersAdd_WeakPassword_RefusedNamingWhyAndNothingStored(string password, string why)
    {
        var result = await Run(password + "\n", "users", "add", "frontdesk");
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain("password refused: it " ).And.Contain(why));
        Assert.That(result.Err, Does.Not.Contain(password), "the password is never echoed");
        var listed = await Run(null, "users", "list");
        Assert.That(listed.Out.Trim(), Is.EqualTo("No users."));
    }
}
