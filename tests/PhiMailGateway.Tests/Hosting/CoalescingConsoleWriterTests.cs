using System.Text;
using PhiMailGateway.Hosting;

namespace PhiMailGateway.Tests.Hosting;

public class CoalescingConsoleWriterTests
{
    [Test]
    public void LinesFromManyThreads_AllArrive_WholeAndInEachThreadsOrder()
    {
        var output = new MemoryStream();
        var writer = TextWriter.Synchronized(new CoalescingConsoleWriter(output));
        Parallel.For(0, 8, thread =>
        {
            for (var i = 0; i < 500; i++) writer.WriteLine($"thread {thread} line {i} ü");
        });
        writer.Flush();

        var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(4000));
        for (var thread = 0; thread < 8; thread++)
        {
            var own = lines.Where(l => l.StartsWith($"thread {thread} ", StringComparison.Ordinal)).ToList();
            Assert.That(own, Is.EqualTo(Enumerable.Range(0, 500).Select(i => $"thread {thread} line {i} ü")), $"thread {thread}");
        }
        Assert.That(output.ToArray().Take(3), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }), "no byte order mark");
    }

    [Test]
    public async Task ALineWrittenWhileIdle_ReachesTheStream_WithoutAnExplicitFlush()
    {
        var output = new MemoryStream();
        using var writer = new CoalescingConsoleWriter(output);
        writer.WriteLine("started");
        for (var i = 0; i < 200 && output.Length == 0; i++) await Task.Delay(10);
        Assert.That(Encoding.UTF8.GetString(output.ToArray()), Is.EqualTo("started" + Environment.NewLine));
    }
}
