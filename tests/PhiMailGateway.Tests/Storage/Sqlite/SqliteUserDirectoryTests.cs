using Microsoft.Data.Sqlite;
using PhiMailGateway.Storage;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Storage.Sqlite;

public class SqliteUserDirectoryTests
{
    private string _dir = null!;
    private GatewayDatabase _database = null!;
    private SqliteUserDirectory _users = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "phimail-users-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _database = new GatewayDatabase(Path.Combine(_dir, "gateway.db"));
        _users = new SqliteUserDirectory(_database);
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Test]
    public async Task SqliteUserDirectory_AddThenVerify_TrueForRightPasswordOnly()
    {
        Assert.That(await _users.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True, "new user");
        Assert.That(await _users.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True);
        Assert.That(await _users.VerifyAsync("frontdesk", "s3cret", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "", CancellationToken.None), Is.False);
    }

    [Test]
    public async Task SqliteUserDirectory_WithTheCache_ARepeatedRightPasswordIsAnsweredFromMemoryAndAWrongOneIsNot()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var users = new SqliteUserDirectory(_database, verified: cache);
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
    public async Task SqliteUserDirectory_WithTheCache_APasswordChangedByAnotherProcessCountsAtOnce()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var serve = new SqliteUserDirectory(_database, verified: cache);
        var cli = new SqliteUserDirectory(_database);
        await cli.AddOrUpdateAsync("frontdesk", "old", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "old", CancellationToken.None), Is.True);

        await cli.AddOrUpdateAsync("frontdesk", "new", CancellationToken.None);

        Assert.That(await serve.VerifyAsync("frontdesk", "old", CancellationToken.None), Is.False, "the remembered old password no longer works");
        Assert.That(await serve.VerifyAsync("frontdesk", "new", CancellationToken.None), Is.True);
        Assert.That(cache.Hits, Is.Zero);
    }

    [Test]
    public async Task SqliteUserDirectory_WithTheCache_AUserRemovedByAnotherProcessIsRefusedAtOnce()
    {
        var cache = new VerifiedPasswordCache(TimeSpan.FromMinutes(15));
        var serve = new SqliteUserDirectory(_database, verified: cache);
        var cli = new SqliteUserDirectory(_database);
        await cli.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True);

        await cli.RemoveAsync("frontdesk", CancellationToken.None);

        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.False);
        await cli.AddOrUpdateAsync("frontdesk", "s3cret!", CancellationToken.None);
        Assert.That(await serve.VerifyAsync("frontdesk", "s3cret!", CancellationToken.None), Is.True, "added again: a new salt, checked by PBKDF2");
        Assert.That(cache.Hits, Is.Zero);
    }

    [Test]
    public async Task SqliteUserDirectory_AddExisting_UpdatesPasswordKeepsCreated()
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
    public async Task SqliteUserDirectory_List_SortedByNameWithTimes()
    {
        var now = DateTimeOffset.UtcNow;
        await _users.AddOrUpdateAsync("zed", "pw", CancellationToken.None);
        await _users.AddOrUpdateAsync("amy@smiledental.example", "pw", CancellationToken.None);

        var list = await _users.ListAsync(CancellationToken.None);

        Assert.That(list.Select(u => u.Name), Is.EqualTo(new[] { "amy@smiledental.example", "zed" }));
        Assert.That(list[0].CreatedAt, Is.EqualTo(now).Within(TimeSpan.FromMinutes(5)), "stored as real UTC time");
    }

    [Test]
    public async Task SqliteUserDirectory_Remove_TrueOnceThenFalse()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        Assert.That(await _users.RemoveAsync("frontdesk", CancellationToken.None), Is.True);
        Assert.That(await _users.RemoveAsync("frontdesk", CancellationToken.None), Is.False);
        Assert.That(await _users.ListAsync(CancellationToken.None), Is.Empty);
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.False, "removed users cannot authenticate");
    }

    [Test]
    public async Task SqliteUserDirectory_MixedCaseNames_OneAccountStoredLowerCase()
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
    public void SqliteUserDirectory_InvalidName_ThrowsNamingTheRule(string name)
    {
        var e = Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync(name, "pw", CancellationToken.None));
        Assert.That(e!.Message, Does.Contain("1 to 64 characters"));
        Assert.ThrowsAsync<ArgumentException>(() => _users.RemoveAsync(name, CancellationToken.None));
    }

    [Test]
    public void SqliteUserDirectory_NameOf65Chars_Rejected_64Accepted()
    {
        Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync(new string('a', 65), "pw", CancellationToken.None));
        Assert.DoesNotThrowAsync(() => _users.AddOrUpdateAsync(new string('a', 64), "pw", CancellationToken.None));
        Assert.DoesNotThrowAsync(() => _users.AddOrUpdateAsync("a.b_c@d+e-f", "pw", CancellationToken.None));
    }

    [Test]
    public void SqliteUserDirectory_EmptyPassword_Refused()
    {
        Assert.ThrowsAsync<ArgumentException>(() => _users.AddOrUpdateAsync("frontdesk", "", CancellationToken.None));
    }

    [Test]
    public async Task SqliteUserDirectory_VerifyUnknownOrMalformedName_FalseWithoutThrowing()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        Assert.That(await _users.VerifyAsync("nobody", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("no body; drop table users", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("", "", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.True, "the table is intact");
    }

    [Test]
    public async Task SqliteUserDirectory_CorruptStoredHash_VerifyFalse()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        await using (var connection = await _database.OpenAsync(CancellationToken.None))
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "UPDATE users SET password_hash = 'plain:pw' WHERE name = 'frontdesk'";
            await command.ExecuteNonQueryAsync();
        }
        Assert.That(await _users.VerifyAsync("frontdesk", "pw", CancellationToken.None), Is.False);
        Assert.That(await _users.VerifyAsync("frontdesk", "plain:pw", CancellationToken.None), Is.False);
    }

    [Test]
    public async Task SqliteUserDirectory_StoredRow_HoldsHashNotPassword()
    {
        await _users.AddOrUpdateAsync("frontdesk", "PlainTextPassword", CancellationToken.None);
        await using var connection = await _database.OpenAsync(CancellationToken.None);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT password_hash FROM users WHERE name = 'frontdesk'";
        var stored = (string)(await command.ExecuteScalarAsync())!;
        Assert.That(stored, Does.StartWith("pbkdf2-sha256$"));
        Assert.That(stored, Does.Not.Contain("PlainTextPassword"));
    }

    [Test]
    [Platform(Exclude = "Win")]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task SqliteUserDirectory_DatabaseFile_IsOwnerOnly()
    {
        await _users.AddOrUpdateAsync("frontdesk", "pw", CancellationToken.None);
        Assert.That(File.GetUnixFileMode(_database.FilePath), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "0600");
    }
}
