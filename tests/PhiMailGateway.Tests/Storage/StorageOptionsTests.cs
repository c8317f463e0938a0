using Microsoft.Data.Sqlite;
using PhiMailGateway.Cli;
using PhiMailGateway.Configuration;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

// Points PHIMAIL_CONFIG at a file of its own, which every host built meanwhile would read.
[NonParallelizable]
public class StorageOptionsTests
{
    private static IReadOnlyList<string> Errors(StorageOptions options) =>
        new StorageOptionsValidator().Validate(null, options) is { Failed: true } r ? r.Failures!.ToList() : [];

    private static IReadOnlyList<string> Errors(GatewayOptions options) =>
        new GatewayOptionsValidator().Validate(null, options) is { Failed: true } r ? r.Failures!.ToList() : [];

    [Test]
    public void Validate_Defaults_EmbeddedSqliteWithAFiveMinuteLease()
    {
        var defaults = new StorageOptions();
        Assert.That((defaults.Provider, defaults.ConnectionString, defaults.LeaseTime), Is.EqualTo((StorageProvider.Sqlite, (string?)null, TimeSpan.FromMinutes(5))));
        Assert.That(Errors(defaults), Is.Empty);
        Assert.That(new GatewayOptions().NodeName, Is.EqualTo(System.Net.Dns.GetHostName()), "an instance is named after its host unless told otherwise");
        Assert.That(Errors(new GatewayOptions()), Is.Empty);
    }

    [Test]
    public void Validate_PostgreSqlWithoutConnectionString_NamesTheKeyAndTheVariable() =>
        Assert.That(Errors(new StorageOptions { Provider = StorageProvider.PostgreSql }), Is.EqualTo(new[]
        {
            "Storage:ConnectionString: required when Storage:Provider is PostgreSql; set it in the environment as Storage__ConnectionString.",
        }));

    [TestCase("Host=db.example;Password=hunter2;Colour=blue", "not an Npgsql connection string")]
    [TestCase("Database=phimail;Password=hunter2", "names no Host.")]
    [TestCase("Host=db.example;Password=hunter2", "names no Database.")]
    public void Validate_BadConnectionString_NamesTheKeyNeverThePassword(string connectionString, string expected)
    {
        var error = Errors(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = connectionString }).Single();
        Assert.That(error, Does.StartWith("Storage:ConnectionString: ").And.Contain(expected));
        Assert.That(error, Does.Not.Contain("hunter2"), "the connection string carries the database password");
    }

    [Test]
    public void Validate_GoodConnectionString_Passes() =>
        Assert.That(Errors(new StorageOptions { Provider = StorageProvider.PostgreSql, ConnectionString = "Host=db.example;Database=phimail;Username=phimail;Password=x;SSL Mode=VerifyFull" }),
            Is.Empty);

    [TestCase("00:00:09")]
    [TestCase("1.00:00:01")]
    [TestCase("-00:05:00")]
    public void Validate_LeaseTimeOutOfRange_NamesTheKey(string lease) =>
        Assert.That(Errors(new StorageOptions { LeaseTime = TimeSpan.Parse(lease, System.Globalization.CultureInfo.InvariantCulture) }).Single(),
            Does.StartWith("Storage:LeaseTime: must be between 00:00:10 and 24:00:00"));

    [TestCase("")]
    [TestCase("node a")]
    [TestCase("node\n")]
    public void Validate_NodeNameEmptyOrWithSpaces_NamesTheKey(string name) =>
        Assert.That(Errors(new GatewayOptions { NodeName = name }).Single(), Does.StartWith("Gateway:NodeName: must be 1 to 64 letters"));

    [Test]
    public void Validate_NodeNameOfAHost_Passes() => Assert.That(Errors(new GatewayOptions { NodeName = "gw-2.office_7.example" }), Is.Empty);

    [Test]
    public async Task Cli_ConnectionStringInTheConfigFile_RefusedInOneLineNamingTheKey()
    {
        using var dir = new TempDirectory();
        using var config = TestConfig.Use(dir.Path, $$"""
            { "Gateway": { "DataDirectory": "{{dir.Path}}" },
              "Storage": { "ConnectionString": "Host=db.example;Database=phimail;Password=hunter2" } }
            """);
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["queue", "list"], new StringReader(""), new StringWriter(), stderr);
        SqliteConnection.ClearAllPools();

        Assert.That(code, Is.EqualTo(2));
        var lines = stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(1), stderr.ToString());
        Assert.That(lines[0], Does.Contain("Storage:ConnectionString: secrets are read from the environment only (Storage__ConnectionString)"));
        Assert.That(stderr.ToString(), Does.Not.Contain("hunter2"), "never echo a secret");
    }

    [Test]
    public async Task Cli_UnknownProvider_RefusedNamingTheKey()
    {
        using var dir = new TempDirectory();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["queue", "list", $"--Gateway:DataDirectory={dir.Path}", "--Storage:Provider=Oracle"], new StringReader(""), new StringWriter(), stderr);
        SqliteConnection.ClearAllPools();

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("Storage:Provider"));
        Assert.That(stderr.ToString().Trim().Split('\n'), Has.Length.EqualTo(1), "one line, no stack trace: " + stderr);
    }

    [Test]
    public async Task Cli_PostgreSqlBeforeEveryStoreHasIt_RefusedRatherThanRunningOnSqlite()
    {
        using var dir = new TempDirectory();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["queue", "list", $"--Gateway:DataDirectory={dir.Path}", "--Storage:Provider=PostgreSql"], new StringReader(""), new StringWriter(), stderr);
        SqliteConnection.ClearAllPools();

        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Does.Contain("Storage:Provider: PostgreSql is not available in this version yet"));
        Assert.That(File.Exists(Path.Combine(dir.Path, "gateway.db")), Is.False, "no SQLite database made in its place");
    }
}
