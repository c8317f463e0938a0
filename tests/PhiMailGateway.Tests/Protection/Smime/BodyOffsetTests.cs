using System.Text;
using PhiMailGateway.Protection.Smime;

namespace PhiMailGateway.Tests.Protection.Smime;

public class BodyOffsetTests
{
    private static Task<long?> OffsetOf(string message) =>
        PhiMailGateway.Spool.MessageLayout.FindBodyOffsetAsync(new MemoryStream(Encoding.ASCII.GetBytes(message)), CancellationToken.None);

    [Test]
    public async Task BodyStartsAfterTheFirstEmptyLine()
    {
        Assert.That(await OffsetOf("A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore"), Is.EqualTo(14));
    }

    [Test]
    public async Task NoHeaders_BodyStartsAfterTheLeadingEmptyLine()
    {
        Assert.That(await OffsetOf("\r\nbody"), Is.EqualTo(2));
    }

    [Test]
    public async Task NoEmptyLine_NoBody()
    {
        Assert.That(await OffsetOf("A: 1\r\nB: 2\r\n"), Is.Null);
    }

    [TestCase(65536 - 2)]
    [TestCase(65536 - 1)]
    [TestCase(65536)]
    [TestCase(65536 + 1)]
    public async Task EmptyLineAcrossTwoReads_IsFound(int headerLength)
    {
        // One long header line so that the CRLF CRLF falls on the 64 KiB read boundary.
        var header = "X: " + new string('a', headerLength - 3);
        Assert.That(await OffsetOf(header + "\r\n\r\nbody"), Is.EqualTo(headerLength + 4));
    }
}
