using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

public class MasterKeyTests
{
    [Test]
    public void MasterKey_FirstUse_CreatesOwnerOnlyKeyThatLaterLoadsAgain()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "keys", "master.key");
        var first = MasterKey.LoadOrCreate(path);
        Assert.That(new FileInfo(path).Length, Is.EqualTo(32));
        Assert.That(File.GetUnixFileMode(path), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        Assert.That(File.GetUnixFileMode(Path.GetDirectoryName(path)!), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute));
        var second = MasterKey.LoadOrCreate(path);
        Assert.That(second.KeyId, Is.EqualTo(first.KeyId));
        Assert.That(second.Derive("a"), Is.EqualTo(first.Derive("a")));
        Assert.That(first.Derive("a"), Is.Not.EqualTo(first.Derive("b")), "each purpose gets its own key");
    }

    [Test]
    public void MasterKey_WrongLength_IsRefusedNamingTheKey()
    {
        using var dir = new TempDirectory();
        var path = Path.Combine(dir.Path, "master.key");
        File.WriteAllBytes(path, new byte[7]);
        Assert.That(() => MasterKey.LoadOrCreate(path), Throws.TypeOf<InvalidDataException>().With.Message.StartsWith("Gateway:MasterKeyPath"));
    }
}

public class OwnerOnlyTests
{
    [Test]
    public void OwnerOnly_CreateDirectory_MakesEveryMissingParentOwnerOnly()
    {
        using var dir = new TempDirectory();
        var data = Path.Combine(dir.Path, "data");
        OwnerOnly.CreateDirectory(Path.Combine(data, "spool", "incoming"));
        foreach (var folder in new[] { data, Path.Combine(data, "spool"), Path.Combine(data, "spool", "incoming") })
            Assert.That(File.GetUnixFileMode(folder), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute), folder);
    }
}
