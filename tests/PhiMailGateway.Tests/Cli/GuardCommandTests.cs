using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Cli;

/// <summary>`guard known …` against a real data directory, without a running gateway.</summary>
public class GuardCommandTests
{
    private TempDirectory _data = null!;

    [SetUp]
    public void SetUp() => _data = new TempDirectory();

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _data.Dispose();
    }

    private async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={_data.Path}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task GuardKnown_AddListRemove_RoundTripsNormalisedEntries()
    {
        var empty = await RunAsync("guard", "known", "list");
        var add = await RunAsync("guard", "known", "add", "Dr.Lee@Endo-Specialists.Example");
        var domain = await RunAsync("guard", "known", "add", "@Crown-Lab.Example");
        var again = await RunAsync("guard", "known", "add", "dr.lee@endo-specialists.example");
        var list = await RunAsync("guard", "known", "list");
        var remove = await RunAsync("guard", "known", "remove", "@crown-lab.example");
        var removeAgain = await RunAsync("guard", "known", "remove", "@crown-lab.example");
        var after = await RunAsync("guard", "known", "list");

        Assert.That(empty.Out.Trim(), Is.EqualTo("No known addresses or domains added."));
        Assert.That(add.Out.Trim(), Is.EqualTo("Added dr.lee@endo-specialists.example"));
        Assert.That(domain.Out.Trim(), Is.EqualTo("Added @crown-lab.example"));
        Assert.That(again.Out.Trim(), Is.EqualTo("dr.lee@endo-specialists.example was already known; nothing changed."));
        var rows = list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(rows[0], Does.StartWith("ENTRY"));
        Assert.That(rows.Skip(1).Select(r => r.Split(' ')[0]), Is.EqualTo(new[] { "@crown-lab.example", "dr.lee@endo-specialists.example" }));
        Assert.That(rows[1], Does.Contain(" it ").And.Contain("cli:"));
        Assert.That((remove.Code, remove.Out.Trim()), Is.EqualTo((0, "Removed @crown-lab.example")));
        Assert.That(removeAgain.Code, Is.EqualTo(1));
        Assert.That(removeAgain.Err, Does.Contain("is not on the list"));
        Assert.That(after.Out, Does.Not.Contain("crown-lab"));
    }

    [TestCase("crown-lab.example")]
    [TestCase("not an address")]
    [TestCase("@")]
    public async Task GuardKnownAdd_NeitherAddressNorDomain_Exit2AndNothingAdded(string text)
    {
        var result = await RunAsync("guard", "known", "add", text);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err.Trim(), Is.EqualTo($"guard known add: '{text}' is neither an address (name@domain) nor @domain."));
        Assert.That((await RunAsync("guard", "known", "list")).Out.Trim(), Is.EqualTo("No known addresses or domains added."));
    }

    [Test]
    public async Task GuardKnownImport_ReferralList_ImportsEachOnceSkippingCommentsAndBlanks()
    {
        var file = Path.Combine(_data.Path, "referrals.txt");
        await File.WriteAllLinesAsync(file, ["# our referral partners", "", "dr.lee@endo-specialists.example", "@crown-lab.example", "  Dr.Lee@Endo-Specialists.example  "]);
        await RunAsync("guard", "known", "add", "@crown-lab.example");

        var result = await RunAsync("guard", "known", "import", file);

        Assert.That((result.Code, result.Out.Trim()), Is.EqualTo((0, "Imported 1 new of 2 (1 already known).")));
        var list = (await RunAsync("guard", "known", "list")).Out;
        Assert.That(list, Does.Contain("dr.lee@endo-specialists.example").And.Contain("@crown-lab.example"));
    }

    [Test]
    public async Task GuardKnownImport_ABadLine_NamesEveryBadLineAndImportsNothing()
    {
        var file = Path.Combine(_data.Path, "referrals.txt");
        await File.WriteAllLinesAsync(file, ["dr.lee@endo-specialists.example", "crown-lab.example", "ok@fine.example", "what is this"]);

        var result = await RunAsync("guard", "known", "import", file);

        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.Contain($"{file}:2: 'crown-lab.example' is neither an address nor @domain."));
        Assert.That(result.Err, Does.Contain($"{file}:4: 'what is this'"));
        Assert.That(result.Err, Does.Contain("nothing imported (2 bad line(s))"));
        Assert.That((await RunAsync("guard", "known", "list")).Out.Trim(), Is.EqualTo("No known addresses or domains added."), "nothing half-imported");
    }

    [Test]
    public async Task GuardKnownImport_MissingFile_Exit2NamingIt()
    {
        var result = await RunAsync("guard", "known", "import", Path.Combine(_data.Path, "none.txt"));
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("guard known import: cannot read"));
    }

    [TestCase]
    [TestCase("known")]
    [TestCase("known", "add")]
    [TestCase("known", "list", "extra")]
    [TestCase("other")]
    public async Task Guard_WrongArguments_Exit2WithUsage(params string[] args)
    {
        var result = await RunAsync(["guard", .. args]);
        Assert.That(result.Code, Is.EqualTo(2));
        Assert.That(result.Err, Does.StartWith("guard: expected `guard list`, `guard release ID [--reason TEXT]`, `guard cancel ID`, `guard known add ADDRESS|@DOMAIN`"));
    }

    [Test]
    public async Task Guard_Help_PrintsOnlyItsUsage()
    {
        var result = await RunAsync("guard", "known", "add", "--help");
        Assert.That(result.Code, Is.EqualTo(0));
        Assert.That(result.Out, Does.Contain("guard known import FILE").And.Not.Contain("users add"));
    }
}
