using PhiMailGateway.Tests.TestKit;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Users;

public class VerifiedPasswordCacheTests
{
    private const string Stored = "pbkdf2-sha256$150000$c2FsdHNhbHRzYWx0c2FsdA==$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=";
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    [Test]
    public void Matches_TheRememberedPasswordAgainstTheSameStoredHash()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), new ManualTimeProvider(Start));
        cache.Remember("frontdesk", Stored, "s3cret!");

        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.True);
        Assert.That(cache.Hits, Is.EqualTo(1));
    }

    [TestCase("frontdesk", Stored, "s3cret", TestName = "Matches_AnotherPassword_Misses")]
    [TestCase("frontdesk", Stored, "", TestName = "Matches_AnEmptyPassword_Misses")]
    [TestCase("frontdesk", Stored + "x", "s3cret!", TestName = "Matches_AChangedStoredHash_Misses")]
    [TestCase("billing", Stored, "s3cret!", TestName = "Matches_AnotherUser_Misses")]
    public void Matches_AnythingElse_Misses(string user, string stored, string password)
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), new ManualTimeProvider(Start));
        cache.Remember("frontdesk", Stored, "s3cret!");

        Assert.That(cache.Matches(user, stored, password), Is.False);
        Assert.That(cache.Hits, Is.Zero);
    }

    [Test]
    public void Matches_FieldsCannotBeShiftedBetweenUserHashAndPassword()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), new ManualTimeProvider(Start));
        cache.Remember("a", "b", "c\0d");

        Assert.That(cache.Matches("a", "b\0c", "d"), Is.False);
    }

    [Test]
    public void Matches_UntilTheLifetimeEnds_ThenMisses()
    {
        var clock = new ManualTimeProvider(Start);
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), clock);
        cache.Remember("frontdesk", Stored, "s3cret!");

        clock.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromTicks(1));
        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.True, "one tick before the end");
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.False, "at the end");
        clock.Advance(-TimeSpan.FromMinutes(1));
        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.False, "an ended entry is gone, not only out of date");
    }

    [Test]
    public void Remember_AgainAfterTheLifetime_StartsANewLifetime()
    {
        var clock = new ManualTimeProvider(Start);
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), clock);
        cache.Remember("frontdesk", Stored, "old");
        clock.Advance(TimeSpan.FromMinutes(10));
        cache.Remember("frontdesk", Stored, "s3cret!");
        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.True, "15 minutes from the second Remember");
        Assert.That(cache.Matches("frontdesk", Stored, "old"), Is.False, "one entry per user: the newer password replaced it");
    }

    [Test]
    public void ZeroLifetime_RemembersNothing()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.Zero, new ManualTimeProvider(Start));
        cache.Remember("frontdesk", Stored, "s3cret!");

        Assert.That(cache.Matches("frontdesk", Stored, "s3cret!"), Is.False);
    }

    [Test]
    public void NegativeLifetime_IsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new VerifiedPasswordCache(TimeSpan.FromSeconds(-1)));

    [Test]
    public void Remember_WhenFull_AddsNoNewUserUntilEntriesEnd()
    {
        var clock = new ManualTimeProvider(Start);
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15), clock);
        for (var i = 0; i < VerifiedPasswordCache.MaxEntries; i++) cache.Remember("user" + i, Stored, "pw");

        cache.Remember("late", Stored, "pw");
        cache.Remember("user0", Stored, "renewed");
        Assert.That(cache.Matches("late", Stored, "pw"), Is.False, "full: a new user is not added");
        Assert.That(cache.Matches("user0", Stored, "renewed"), Is.True, "full: a user already there is still renewed");

        clock.Advance(TimeSpan.FromMinutes(16));
        cache.Remember("late", Stored, "pw");
        Assert.That(cache.Matches("late", Stored, "pw"), Is.True, "ended entries make room");
    }
}
