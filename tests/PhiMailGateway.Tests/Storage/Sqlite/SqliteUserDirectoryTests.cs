using Microsoft.Data.Sqlite;
using PhiMailGateway.Storage;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>What only the SQLite file adds to <see cref="UserDirectoryContract{TDatabase}"/>: the file itself is the owner's alone.</summary>
public class SqliteUserDirectoryTests
{
    private string _dir = null!;
    private GatewayDatabase _database = null!;
    private SqlUserDirectory _users = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = Path.Combine(Path.GetTempPath(), "phimail-users-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
        _database = new GatewayDatabase(Path.Combine(_dir, "gateway.db"));
        _users = new SqlUserDirectory(_database);
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
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
