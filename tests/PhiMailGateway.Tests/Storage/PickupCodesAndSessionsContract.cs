using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

/// <summary>
/// What every store of pickup codes (<see cref="IPickupCodes"/>) and sessions (<see cref="IPickupSessions"/>)
/// must do, whatever the database behind it. Each subclass supplies both over one fresh storage,
/// and a package to issue codes for.
/// </summary>
public abstract class PickupCodesAndSessionsContract
{
    protected static readonly PickupOptions Options = new() { MaxCodesPerHour = 3, MaxWrongCodes = 3, Lockout = TimeSpan.FromMinutes(2), CodeLifetime = TimeSpan.FromMinutes(10) };

    protected ManualTimeProvider Clock { get; private set; } = null!;
    protected IPickupCodes Codes { get; private set; } = null!;
    protected IPickupSessions Sessions { get; private set; } = null!;

    protected abstract Task<(IPickupCodes Codes, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time);

    /// <summary>A new active package in the same storage; returns its id.</summary>
    protected abstract Task<string> CreatePackageAsync();

    protected abstract Task DestroyAsync();

    [SetUp]
    public async Task SetUpContract()
    {
        Clock = new ManualTimeProvider(DateTimeOffset.UtcNow);
        (Codes, Sessions) = await CreateAsync(Options, Clock);
    }

    [TearDown]
    public Task TearDownContract() => DestroyAsync();

    [Test]
    public async Task Codes_RightCode_AcceptedOnceAndUsesUpEveryOpenCode()
    {
        var package = await CreatePackageAsync();
        var first = await Codes.IssueCodeAsync(package, CancellationToken.None);
        var second = await Codes.IssueCodeAsync(package, CancellationToken.None);

        Assert.That((await Codes.CheckCodeAsync(package, first, CancellationToken.None)).Outcome, Is.EqualTo(CodeCheck.Accepted), "a resend does not void the earlier mail");
        Assert.That((await Codes.CheckCodeAsync(package, second, CancellationToken.None)).Outcome, Is.EqualTo(CodeCheck.Wrong), "a match uses up every open code");
    }

    [Test]
    public async Task Codes_TooManyPerHour_NullUntilTheHourHasPassed()
    {
        var package = await CreatePackageAsync();
        for (var i = 0; i < Options.MaxCodesPerHour; i++)
            Assert.That(await Codes.IssueCodeAsync(package, CancellationToken.None), Is.Not.Null);

        Assert.That(await Codes.IssueCodeAsync(package, CancellationToken.None), Is.Null);
        Clock.Advance(TimeSpan.FromMinutes(61));
        Assert.That(await Codes.IssueCodeAsync(package, CancellationToken.None), Is.Not.Null);
    }

    [Test]
    public async Task Codes_WrongCodesUpToTheLimit_LockEvenTheRightCodeUntilTheLockoutEnds()
    {
        var package = await CreatePackageAsync();
        var code = await Codes.IssueCodeAsync(package, CancellationToken.None);
        var wrong = code == "000000" ? "111111" : "000000";

        Assert.That(await Codes.CheckCodeAsync(package, wrong, CancellationToken.None), Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 2, null)));
        Assert.That(await Codes.CheckCodeAsync(package, null, CancellationToken.None), Is.EqualTo(new CodeCheckResult(CodeCheck.Wrong, 1, null)), "no code is a miss");
        var locked = await Codes.CheckCodeAsync(package, wrong, CancellationToken.None);
        Assert.That(locked.Outcome, Is.EqualTo(CodeCheck.Locked));
        Assert.That((await Codes.CheckCodeAsync(package, code, CancellationToken.None)).Outcome, Is.EqualTo(CodeCheck.Locked), "the right code does not open a locked package");

        Clock.Advance(Options.Lockout + TimeSpan.FromSeconds(1));
        Assert.That((await Codes.CheckCodeAsync(package, code, CancellationToken.None)).Outcome, Is.EqualTo(CodeCheck.Wrong), "the lock voided the open codes (the code itself has not expired yet)");
        var fresh = await Codes.IssueCodeAsync(package, CancellationToken.None);
        Assert.That((await Codes.CheckCodeAsync(package, fresh, CancellationToken.None)).Outcome, Is.EqualTo(CodeCheck.Accepted));
    }

    [Test]
    public async Task Sessions_ValidForItsPackageUntilItExpires_NothingElseIsValid()
    {
        var package = await CreatePackageAsync();
        var other = await CreatePackageAsync();
        var session = await Sessions.CreateSessionAsync(package, CancellationToken.None);

        Assert.That(await Sessions.IsSessionValidAsync(package, session, CancellationToken.None), Is.True);
        Assert.That(await Sessions.IsSessionValidAsync(other, session, CancellationToken.None), Is.False, "a session opens only its own package");
        Assert.That(await Sessions.IsSessionValidAsync(package, null, CancellationToken.None), Is.False);
        Assert.That(await Sessions.IsSessionValidAsync(package, "not a token", CancellationToken.None), Is.False);

        Clock.Advance(Options.SessionLifetime + TimeSpan.FromSeconds(1));
        Assert.That(await Sessions.IsSessionValidAsync(package, session, CancellationToken.None), Is.False, "expired");
    }
}
