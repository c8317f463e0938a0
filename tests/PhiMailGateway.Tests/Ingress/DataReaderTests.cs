using System.IO.Pipelines;
using System.Text;
using PhiMailGateway.Ingress;

namespace PhiMailGateway.Tests.Ingress;

/// <summary>The DATA state machine on its own, fed through a real pipe in every split the bytes allow.</summary>
public class DataReaderTests
{
    private static async Task<(DataOutcome Outcome, string Stored, long Size, string Left)> ReadAsync(string wire, long max = 1_000_000, int chunk = int.MaxValue, int maxHeaderLine = 65_536, int maxFields = 1000)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0)); // all written before reading: no back-pressure
        var bytes = Encoding.Latin1.GetBytes(wire);
        for (var i = 0; i < bytes.Length; i += chunk)
        {
            await pipe.Writer.WriteAsync(bytes.AsMemory(i, Math.Min(chunk, bytes.Length - i)));
        }
        await pipe.Writer.CompleteAsync();
        var reader = new DataReader(max, maxHeaderLine, maxFields);
        var buffer = new PooledMessageBuffer();
        using var timer = new IdleTimer(CancellationToken.None);
        var outcome = await reader.ReadAsync(pipe.Reader, buffer, timer, TimeSpan.FromSeconds(10));
        var stored = Encoding.Latin1.GetString(buffer.AsSequence());
        var rest = await pipe.Reader.ReadAsync();
        var left = Encoding.Latin1.GetString(rest.Buffer);
        buffer.Release();
        return (outcome, stored, reader.Size, left);
    }

    [TestCase(int.MaxValue)]
    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public async Task DataReader_StuffedDotsAndPipelinedCommand_UnstuffsAndStopsAtTheDot(int chunk)
    {
        var (outcome, stored, size, left) = await ReadAsync("Subject: a\r\n\r\n..leading\r\n...\r\nend\r\n.\r\nQUIT\r\n", chunk: chunk);

        Assert.That(outcome, Is.EqualTo(DataOutcome.Complete));
        Assert.That(stored, Is.EqualTo("Subject: a\r\n\r\n.leading\r\n..\r\nend\r\n"), "one dot removed from each stuffed line, CRLF before the final dot kept");
        Assert.That(size, Is.EqualTo(stored.Length), "the size is the stored bytes");
        Assert.That(left, Is.EqualTo("QUIT\r\n"), "pipelined bytes after the dot stay for the command loop");
    }

    [TestCase(int.MaxValue)]
    [TestCase(1)]
    public async Task DataReader_BareLf_NormalisedAndDotLineAfterItIsData(int chunk)
    {
        var (outcome, stored, _, _) = await ReadAsync("Subject: a\n\nfirst\n.\nMAIL FROM:<x@y>\r\n.\n\r\n.\r\n", chunk: chunk);

        Assert.That(outcome, Is.EqualTo(DataOutcome.Complete));
        Assert.That(stored, Is.EqualTo("Subject: a\r\n\r\nfirst\r\n.\r\nMAIL FROM:<x@y>\r\n.\r\n\r\n"), "LF became CRLF; a '.' line ended by LF is data, never the end");
    }

    [TestCase("Subject: a\r\n\r\nx\r.\r\nmore\r\n.\r\n")]
    [TestCase("Subject: a\r\n\r\n.\rx\r\n.\r\n")]
    [TestCase("Subject: a\r\n\r\nx\r\r\n.\r\n")]
    [TestCase("Subject:\ra\r\n\r\nx\r\n.\r\n")]
    public async Task DataReader_BareCr_RefusedButReadToTheRealEnd(string wire)
    {
        var (outcome, stored, _, left) = await ReadAsync(wire + "NOOP\r\n", chunk: 1);

        Assert.That(outcome, Is.EqualTo(DataOutcome.BareCr));
        Assert.That(stored, Is.Empty, "nothing kept of a refused message");
        Assert.That(left, Is.EqualTo("NOOP\r\n"), "the data ended at CRLF.CRLF only");
    }

    [TestCase(99_998)]
    [TestCase(99_999)]
    [TestCase(100_000)]
    [TestCase(100_001)]
    [TestCase(100_002)]
    public async Task DataReader_SizeAroundTheLimit_ExactBoundary(int size)
    {
        var message = Encoding.ASCII.GetString(IngressDataTests.MessageOfSize(size));

        var (outcome, stored, counted, left) = await ReadAsync(message + ".\r\nNOOP\r\n", max: 100_000, chunk: 4096);

        Assert.That(counted, Is.EqualTo(size), "size counts the message with the CRLF before the dot");
        Assert.That(outcome, Is.EqualTo(size <= 100_000 ? DataOutcome.Complete : DataOutcome.TooLarge));
        Assert.That(stored.Length, Is.EqualTo(size <= 100_000 ? size : 0), "nothing buffered past the limit");
        Assert.That(left, Is.EqualTo("NOOP\r\n"));
    }

    [Test]
    public async Task DataReader_HeaderLimits_CountOnlyTheHeaderSection()
    {
        var longBodyLine = new string('b', 5000);
        var ok = await ReadAsync($"A: 1\r\nB: 2\r\n\tfolded\r\n\r\n{longBodyLine}\r\nC: 3\r\n.\r\n", maxHeaderLine: 1000, maxFields: 2);
        var longHeader = await ReadAsync($"A: {new string('h', 1001)}\r\n\r\nx\r\n.\r\n", maxHeaderLine: 1000);
        var tooMany = await ReadAsync("A: 1\r\nB: 2\r\nC: 3\r\n\r\nx\r\n.\r\n", maxFields: 2);

        Assert.That(ok.Outcome, Is.EqualTo(DataOutcome.Complete), "folded lines are not fields; body lines are not headers");
        Assert.That(longHeader.Outcome, Is.EqualTo(DataOutcome.HeaderLineTooLong));
        Assert.That(tooMany.Outcome, Is.EqualTo(DataOutcome.TooManyHeaders));
    }

    [Test]
    public async Task DataReader_ClientClosesMidData_Closed()
    {
        var (outcome, stored, _, _) = await ReadAsync("Subject: a\r\n\r\nhalf");

        Assert.That(outcome, Is.EqualTo(DataOutcome.Closed));
        Assert.That(stored, Is.Empty);
    }
}
