using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

public class EarlyWritebackFileStreamTests : TempDirectoryTest
{
    [TestCase(false)]
    [TestCase(true)]
    public async Task WritesOfAnySize_LandExactly_AndEachMiBStartsAWriteOut(bool useAsync)
    {
        var data = new byte[(int)(3.5 * EarlyWritebackFileStream.Step)];
        new Random(7).NextBytes(data);
        var path = Path.Combine(Dir, "copy.eml");
        var random = new Random(11);

        await using (var file = (EarlyWritebackFileStream)OwnerOnly.CreateNew(path))
        {
            for (var at = 0; at < data.Length;)
            {
                // Sizes around the file's own buffer (80 KiB) and a lone byte now and then.
                var size = Math.Min(data.Length - at, random.Next(4) == 0 ? 1 : random.Next(1, 200_000));
                if (size == 1) file.WriteByte(data[at]);
                else if (useAsync) await file.WriteAsync(data.AsMemory(at, size));
                else file.Write(data, at, size);
                at += size;
            }
            file.Flush(flushToDisk: true);
            if (OperatingSystem.IsLinux()) Assert.That(file.WritebacksStarted, Is.EqualTo(3), "one write-out per whole MiB, each accepted by the kernel");
        }

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(data));
        if (!OperatingSystem.IsWindows()) Assert.That(File.GetUnixFileMode(path), Is.EqualTo(OwnerOnly.FileMode));
    }

    [Test]
    public async Task AFileUnderOneStep_StartsNoWriteOut()
    {
        var path = Path.Combine(Dir, "notice.eml");
        await using var file = (EarlyWritebackFileStream)OwnerOnly.CreateNew(path);

        await file.WriteAsync(new byte[EarlyWritebackFileStream.Step - 1]);
        file.Flush(flushToDisk: true);

        Assert.That(file.WritebacksStarted, Is.Zero);
        Assert.That(new FileInfo(path).Length, Is.EqualTo(EarlyWritebackFileStream.Step - 1));
    }
}
