using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Storage;

/// <summary>What the SMTP AUTH accounts (<see cref="SqlUserDirectory"/>) must do on every database.</summary>
public abstract class UserDirectoryContract<TDatabase> : SqlStorageContract<TDatabase> where TDatabase : IContractDatabase, new()
{
    private IUserDirectory _users = null!;

    [SetUp]
    public void SetUpUsers() => _users = new SqlUserDirectory(Database);

    [Test]
    public async Task Users_AddThenVerify_TrueForRightPasswordOnly()
    {
        Assert.That(await _users.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True, "new user");
        Assert.That(await _users.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True);
        Assert.That(await _users.VerifyAsync("frontdesk", "s3cret", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "", CancellationToken.None), Is.False);
    }

    [Test]
    public async Task Users_WithTheCache_ARepeatedRightPasswordIsAnsweredFromMemoryAndAWrongOneIsNot()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var users = new SqlUserDirectory(Database, verified: cache);
        await users.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None);

        Assert.That(await users.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True, "first: PBKDF2");
        Assert.That(cache.Hits, Is.Zero, "nothing to remember before the first check");
        Assert.That(await users.VerifyAsync("Frontdesk", "s3cret!", CancellationToken.None), Is.True, "again, in other case");
        Assert.That(cache.Hits, Is.EqualTo(1), "the second check came from memory");
        Assert.That(await users.VerifyAsync("frontdesk", "s3cret", CancellationToken.None), Is.False, "a wrong password after a hit");
        Assert.That(await users.VerifyAsync("frontdesk", "", CancellationToken.None), Is.False);
        Assert.That(cache.Hits, Is.EqualTo(1), "a wrong password never matches in memory");
    }

    [Test]
    public async Task Users_WithTheCache_APasswordChangedThroughAnotherHandleCountsAtOnce()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var serve = new SqlUserDirectory(Database, verified: cache);
        var cli = new SqlUserDirectory(Second);
        await cli.AddOrUpdateAsync("frontdesk", "old", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "old", CancellationToken.None), Is.True);

        await cli.AddOrUpdateAsync("frontdesk", "new", CancellationToken.None);

        Assert.That(await serve.VerifyAsync("frontdesk", "old", CancellationToken.None), Is.False, "the remembered old password no longer works");
        Assert.That(await serve.VerifyAsync("frontdesk", "new", CancellationToken.None), Is.True);
        Assert.That(cache.Hits, Is.Zero);
    }

    [Test]
    public async Task Users_WithTheCache_AUserRemovedThroughAnotherHandleIsRefusedAtOnce()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var serve = new SqlUserDirectory(Database, verified: cache);
        var cli = new SqlUserDirectory(Second);
        await cli.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True);

        await cli.RemoveAsync("frontdesk", CancellationToken.None);

        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.False);
        await cli.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True, "added again: a new salt, checked by PBKDF2");
        Assert.That(cache.Hits, Is.Zero);
    }

    [Test]
    public async Task Users_AddExisting_UpdatesPasswordKeepsCreated()
    {
        await _users.AddOrUpdateAsync("frontdesk", "old", CancellationToken.None);
        var before = (await _users.ListAsync(CancellationToken.None)).Single();

        Assert.That(await _users.AddOrUpdateAsync("frontdesk", "new", CancellationToken.None), Is.False, "existing user");
        Assert.That(await _users.VerifyAsync("frontdesk", "new", CancellationToken.None), Is.True);
        Assert.That(await _users.VerifyAsync("frontdesk", "old", CancellationToken.None), Is.False, "old password no longer works");
        var after = (await _users.ListAsync(CancellationToken.None)).Single();
        Assert.That(after.CreatedAt, Is.EqualTo(before.CreatedAt));
        Assert.That(after.UpdatedAt, Is.GreaterThanOrEqualTo(before.UpdatedAt));
    }

    [Test]
    public async Task Users_List_SortedByNameByteByByteWithTimes()
    {
        var now = DateTimeOffset.UtcNow;
        await _users.AddOrUpdateAsync("zed", "pw", CancellationToken.None);
        await _users.AddOrUpdateAsync("amy@smiledental.example", "pw", CancellationToken.None);
        await _users.AddOrUpdateAsync("amy.b", "pw", CancellationToken.None);
        await _users.AddOrUpdateAsync("amy_c", "pw", CancellationToken.None);

        var list = await _users.ListAsync(CancellationToken.None);

        // '.' < '@' < '_' in bytes; a linguistic collation would order them otherwise.
        Assert.That(list.Select(u => u.Name), Is.EqualTo(new[] { "amy.b", "amy@smiledental.example", "amy_c", "zed" }));
        Assert.That(list[0].CreatedAt, Is.EqualTo(now).Within(TimeSpan.FromMinutes(5)), "stored as real UTC time");
    }

    [Test]
    public async Task Users_Remove_TrueOnceThenFalse()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        Assert.That(await _users.RemoveAsync("frontdesk", CancellationToken.None), Is.True);
        Assert.That(await _users.RemoveAsync("frontdesk", CancellationToken.None), Is.False);
        Assert.That(await _users.ListAsync(CancellationToken.None), Is.Empty);
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.False, "removed users cannot authenticate");
    }

    [Test]
    public async Task Users_MixedCaseNames_OneAccountStoredLowerCase()
    {
        Assert.That(await _users.AddOrUpdateAsync("FrontDesk", "pw1", CancellationToken.None), Is.True);
        Assert.That(await _users.AddOrUpdateAsync("FRONTDESK", "pw2", CancellationToken.None), Is.False, "same account");
        Assert.That((await _users.ListAsync(CancellationToken.None)).Select(u => u.Name), Is.EqualTo(new[] { "frontdesk" }));
        Assert.That(await _users.VerifyAsync("frontDESK", "pw2", CancellationToken.None), Is.True);
        Assert.That(await _users.RemoveAsync("Frontdesk", CancellationToken.None), Is.True);
    }

    [TestCase("")]
    [TestCase("has space")]
    [TestCase("semi;colon")]
    [TestCase("ünicode")]
    [TestCase("a/b")]
    public void Users_InvalidName_ThrowsNamingTheRule(string name)
    {
        var e = Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync(name, "pw", CancellationToken.None));
        Assert.That(e!.Message, Does.Contain("1 to 64 characters"));
        Assert.ThrowsAsync<ArgumentException>(() => _users.RemoveAsync(name, CancellationToken.None));
    }

    [Test]
    public void Users_NameOf65Chars_Rejected_64Accepted()
    {
        Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync(new string('a', 65), "pw", CancellationToken.None));
        Assert.DoesNotThrowAsync(() => _users.AddOrUpdateAsync(new string('a', 64), "pw", CancellationToken.None));
        Assert.DoesNotThrowAsync(() => _users.AddOrUpdateAsync("a.b_c@d+e-f", "pw", CancellationToken.None));
    }

    [Test]
    public void Users_EmptyPassword_Refused()
    {
        Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync("frontdesk", "", CancellationToken.None));
    }

    [Test]
    public async Task Users_VerifyUnknownOrMalformedName_FalseWithoutThrowing()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        Assert.That(await _users.VerifyAsync("nobody", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("no body; drop table users", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("", "", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.True, "the table is intact");
    }

    [Test]
    public async Task Users_CorruptStoredHash_VerifyFalse()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        await ExecuteAsync("UPDATE users SET password_hash = 'plain:pw' WHERE name = 'frontdesk'");

        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "plain:pw", CancellationToken.None), Is.False);
    }

    [Test]
    public async Task Users_StoredRow_HoldsHashNotPassword()
    {
        await _users.AddOrUpdateAsync("frontdesk", "PlainTextPassword", CancellationToken.None);

        var stored = await ScalarAsync<string>("SELECT password_hash FROM users WHERE name = 'frontdesk'");

        Assert.That(stored, Does.StartWith("pbkdf2-sha256$"));
        Assert.That(stored, Does.Not.Contain("PlainTextPassword"));
    }

    [Test]
    public async Task Users_AddedThroughOneHandle_AuthenticateAndGoThroughTheOther()
    {
        var other = new SqlUserDirectory(Second);
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);

        Assert.That(await other.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.True, "an account is the database's, not one instance's");
        Assert.That(await other.RemoveAsync("frontdesk", CancellationToken.None), Is.True);
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.False, "removed everywhere at once");
    }
}
