using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Cli;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>Issue 22 item 1: a lockout reads as a lockout, IT sees whose it is, and `users unlock` clears it while the gateway runs.</summary>
public class AuthLockoutTests
{
    private const string User = "frontdesk@practice.test";
    private const string Password = "correct horse battery staple";

    private static async Task<SmtpReply> AuthFromAsync(TestGateway gw, string from, string password)
    {
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port, from: from);
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();
        return await client.AuthPlainAsync(User, password);
    }

    private static async Task<(int Code, string Out, string Err)> CliAsync(TestGateway gw, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await GatewayCommandLine.RunAsync([.. args, $"--Gateway:DataDirectory={gw.DataDirectory}"], new StringReader(""), stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task Auth_AReturningUserOnANewConnection_IsAnsweredFromMemoryAndAChangedPasswordCountsAtOnce()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>());
        var cache = gw.Services.GetRequiredService<PhiMailGateway.Users.VerifiedPasswordCache>();
        await gw.AddUserAsync(User, Password);

        var first = await AuthFromAsync(gw, "127.0.0.2", Password);
        var second = await AuthFromAsync(gw, "127.0.0.2", Password);
        var hitsAfterTwo = cache.Hits;
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var changed = await GatewayCommandLine.RunAsync(["users", "add", User, $"--Gateway:DataDirectory={gw.DataDirectory}"],
            new StringReader("a new passphrase for the front desk\n"), stdout, stderr);
        var old = await AuthFromAsync(gw, "127.0.0.2", Password);
        var renewed = await AuthFromAsync(gw, "127.0.0.2", "a new passphrase for the front desk");

        Assert.That(first.Code, Is.EqualTo(235), first.ToString());
        Assert.That(second.Code, Is.EqualTo(235), second.ToString());
        Assert.That(hitsAfterTwo, Is.EqualTo(1), "the second login skipped PBKDF2");
        Assert.That(changed, Is.Zero, stderr.ToString());
        Assert.That(old.Code, Is.EqualTo(535), "the remembered old password is refused once the stored hash changed: " + old);
        Assert.That(renewed.Code, Is.EqualTo(235), renewed.ToString());
    }

    [Test]
    public async Task Auth_WithAuthCacheLifetimeZero_EveryLoginRunsTheHash()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:AuthCacheLifetime"] = "00:00:00" });
        await gw.AddUserAsync(User, Password);

        var first = await AuthFromAsync(gw, "127.0.0.2", Password);
        var second = await AuthFromAsync(gw, "127.0.0.2", Password);

        Assert.That((first.Code, second.Code), Is.EqualTo((235, 235)));
        Assert.That(gw.Services.GetRequiredService<PhiMailGateway.Users.VerifiedPasswordCache>().Hits, Is.Zero);
    }

    [Test]
    public async Task Auth_Locked_Answers454WithTheIsoTimeInUtcWhenItEnds()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:MaxAuthFailures"] = "2",
            ["Smtp:AuthLockout"] = "00:30:00",
        });
        await gw.AddUserAsync(User, Password);
        await AuthFromAsync(gw, "127.0.0.2", "stale");
        await AuthFromAsync(gw, "127.0.0.2", "stale");

        var before = DateTimeOffset.UtcNow;
        var locked = await AuthFromAsync(gw, "127.0.0.2", Password);

        Assert.That(locked.Code, Is.EqualTo(454), locked.ToString());
        var match = System.Text.RegularExpressions.Regex.Match(locked.Text, @"^4\.7\.0 Authentication temporarily locked, try again at (\S+)$");
        Assert.That(match.Success, Is.True, locked.ToString());
        var until = DateTimeOffset.ParseExact(match.Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal);
        Assert.That(until, Is.InRange(before.AddMinutes(28), before.AddMinutes(31)), "the end of Smtp:AuthLockout, rounded up to the minute");
    }

    [Test]
    public async Task Auth_LockedBeforeARestart_StillLockedAfterItAndUnlockStillClearsIt()
    {
        var settings = new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "2", ["Smtp:AuthLockout"] = "00:30:00" };
        using var data = new TempDirectory();
        await using (var first = await TestGateway.StartIngressOnlyAsync(settings, dataDirectory: data.Path))
        {
            await first.AddUserAsync(User, Password);
            await AuthFromAsync(first, "127.0.0.2", "stale");
            await AuthFromAsync(first, "127.0.0.2", "stale");
            Assert.That((await AuthFromAsync(first, "127.0.0.2", Password)).Code, Is.EqualTo(454), "locked before the restart");
        }

        await using var gw = await TestGateway.StartIngressOnlyAsync(settings, dataDirectory: data.Path);
        var locked = await AuthFromAsync(gw, "127.0.0.2", Password);
        var otherMachine = await AuthFromAsync(gw, "127.0.0.3", Password);
        var unlocked = await CliAsync(gw, "users", "unlock", User);
        var afterUnlock = await AuthFromAsync(gw, "127.0.0.2", Password);

        Assert.That(locked.Code, Is.EqualTo(454), "a restart does not free the account early: " + locked);
        Assert.That(otherMachine.Code, Is.EqualTo(235), "the restored lockout is still only that address's");
        Assert.That(unlocked.Out, Does.StartWith($"Unlocked {User}: 1 lockout(s) cleared"), unlocked.Out + unlocked.Err);
        Assert.That(afterUnlock.Code, Is.EqualTo(235), "users unlock clears a restored lockout too");
    }

    [Test]
    public async Task UsersUnlock_WhileTheGatewayRuns_ClearsPairAndUserLockoutsAtTheNextAttempt()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?>
        {
            ["Smtp:MaxAuthFailures"] = "2",
            ["Smtp:MaxAuthFailuresPerUser"] = "3",
        });
        await gw.AddUserAsync(User, Password);
        await AuthFromAsync(gw, "127.0.0.2", "stale");
        await AuthFromAsync(gw, "127.0.0.2", "stale"); // locks 127.0.0.2 with this user
        await AuthFromAsync(gw, "127.0.0.3", "stale"); // third failure of the user: locks the user everywhere
        Assert.That((await AuthFromAsync(gw, "127.0.0.4", Password)).Code, Is.EqualTo(454), "the per-user lockout holds from a third machine");

        var listed = await CliAsync(gw, "users", "list");
        var unlocked = await CliAsync(gw, "users", "unlock", "FrontDesk@practice.test");
        var again = await CliAsync(gw, "users", "unlock", User);

        Assert.That(listed.Out, Does.Contain($"Locked: {User} from 127.0.0.2 until"), listed.Out + listed.Err);
        Assert.That(listed.Out, Does.Contain($"Locked: {User} from all addresses until"), listed.Out);
        Assert.That(unlocked.Code, Is.EqualTo(0), unlocked.Err);
        Assert.That(unlocked.Out.Trim(), Is.EqualTo($"Unlocked {User}: 2 lockout(s) cleared; the next AUTH attempt is checked normally."));
        Assert.That(again.Out.Trim(), Is.EqualTo($"{User} had no running lockout recorded; nothing to clear."));
        Assert.That((await AuthFromAsync(gw, "127.0.0.4", Password)).Code, Is.EqualTo(235), "the user lockout is gone");
        Assert.That((await AuthFromAsync(gw, "127.0.0.2", Password)).Code, Is.EqualTo(235), "the address-and-user lockout is gone too");
    }

    [Test]
    public async Task UsersUnlock_ThenNewFailures_LockAgainAndNeedAnotherUnlock()
    {
        await using var gw = await TestGateway.StartIngressOnlyAsync(new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "2" });
        await gw.AddUserAsync(User, Password);
        await AuthFromAsync(gw, "127.0.0.2", "stale");
        await AuthFromAsync(gw, "127.0.0.2", "stale");
        await CliAsync(gw, "users", "unlock", User);
        var checkedAgain = await AuthFromAsync(gw, "127.0.0.2", "stale again");
        Assert.That(checkedAgain.Code, Is.EqualTo(535), "unlocked: the password is checked (and wrong) " + checkedAgain);
        Assert.That(checkedAgain.Text, Does.Contain("1 attempt remaining"), "the count starts afresh after an unlock");
        Assert.That((await AuthFromAsync(gw, "127.0.0.2", "stale again")).Code, Is.EqualTo(454), "the second new failure locks again");

        var relocked = await AuthFromAsync(gw, "127.0.0.2", Password);

        Assert.That(relocked.Code, Is.EqualTo(454), "an unlock clears the lockouts that ran then, not the ones after it: " + relocked);
    }

    [Test]
    public async Task Auth_LockoutStarts_LoggedAtWarningWithTheUserName()
    {
        var logs = new RecordingLoggerProvider();
        await using var gw = await TestGateway.StartIngressOnlyAsync(
            new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "2" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        await gw.AddUserAsync(User, Password);

        await AuthFromAsync(gw, "127.0.0.2", "stale");
        await AuthFromAsync(gw, "127.0.0.2", "stale");

        var started = logs.WithId(1100).ToList();
        Assert.That(started, Has.Count.EqualTo(1), string.Join("\n", logs.Events.Select(e => e.Message)));
        Assert.That(started[0].Level, Is.EqualTo(LogLevel.Warning));
        Assert.That(started[0].Message, Does.Contain("user " + User).And.Contain("127.0.0.2"), started[0].Message);
        Assert.That(started[0].Message, Does.Not.Contain("stale"), "never the password tried");
    }

    [Test]
    public async Task Auth_LockoutOfANameThatIsNoUserName_LogsAMarkerNotTheText()
    {
        var logs = new RecordingLoggerProvider();
        await using var gw = await TestGateway.StartIngressOnlyAsync(
            new Dictionary<string, string?> { ["Smtp:MaxAuthFailures"] = "1" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        await using var client = await SmtpTestClient.ConnectAsync(gw.Port, from: "127.0.0.2");
        await client.EhloAsync();
        await client.StartTlsAsync();
        await client.EhloAsync();

        await client.AuthPlainAsync("Jane Doe born 1980-01-01", "guess");

        var started = logs.WithId(1100).Single();
        Assert.That(started.Message, Does.Contain("user (not a valid user name)"), started.Message);
        Assert.That(started.Message, Does.Not.Contain("Jane").And.Not.Contain("jane").And.Not.Contain("1980"), "typed text is not logged");
    }

    [Test]
    public async Task UsersUnlock_Help_PrintsItsUsage()
    {
        var stdout = new StringWriter();
        var code = await GatewayCommandLine.RunAsync(["users", "unlock", "--help"], new StringReader(""), stdout, new StringWriter());

        Assert.That(code, Is.EqualTo(0));
        Assert.That(stdout.ToString(), Does.Contain("users unlock NAME"));
    }
}
