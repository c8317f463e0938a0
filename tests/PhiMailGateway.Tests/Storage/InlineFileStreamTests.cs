using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage;

public class InlineFileStreamTests : TempDirectoryTest
{
    [Test]
    public async Task AsyncWritesAndReads_CompleteBeforeReturning_WithTheSameBytes()
    {
        var data = new byte[300_000];
        new Random(3).NextBytes(data);
        var path = Path.Combine(Dir, "copy.eml");

        await using (var file = OwnerOnly.CreateNew(path))
        {
            for (var at = 0; at < data.Length; at += 70_000)
            {
                var write = file.WriteAsync(data.AsMemory(at, Math.Min(70_000, data.Length - at)));
                Assert.That(write.IsCompleted, Is.True, "no hand-off to the pool: the write is done when the call returns");
                await write;
            }
            Assert.That(file.FlushAsync().IsCompleted, Is.True);
        }

        var read = new MemoryStream();
        await using (var file = InlineFileStream.OpenSequential(path))
        {
            var buffer = new byte[50_000];
            while (true)
            {
                var pending = file.ReadAsync(buffer.AsMemory());
                Assert.That(pending.IsCompleted, Is.True);
                var n = await pending;
                if (n == 0) break;
                read.Write(buffer, 0, n);
            }
        }
        Assert.That(read.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public async Task ACopyToAnotherStream_ReadsEverything()
    {
        var data = new byte[1_000_000];
        new Random(5).NextBytes(data);
        var path = Path.Combine(Dir, "spool.eml");
        await File.WriteAllBytesAsync(path, data);

        await using var file = InlineFileStream.OpenSequential(path);
        var copy = new MemoryStream();
        await file.CopyToAsync(copy);

        Assert.That(copy.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public void Failures_AndCancellation_ArriveThroughTheTask_NotAsAThrowFromTheCall()
    {
        var path = Path.Combine(Dir, "read-only.eml");
        File.WriteAllBytes(path, [1, 2, 3]);
        using var file = InlineFileStream.OpenSequential(path);

        var write = file.WriteAsync(new byte[] { 4 }.AsMemory());
        Assert.That(write.IsFaulted, Is.True);
        Assert.ThrowsAsync<NotSupportedException>(async () => await write);

        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        var read = file.ReadAsync(new byte[3].AsMemory(), cancelled.Token);
        Assert.That(read.IsCanceled, Is.True);
        Assert.That(file.Position, Is.Zero, "a cancelled read reads nothing");
    }
}
