using System.Security.Cryptography;
using MimeKit;
using MimeKit.IO;
using MimeKit.IO.Filters;
using PhiMailGateway.Protection.Smime;

namespace PhiMailGateway.Tests.Protection.Smime;

public class Base64LineWriterTests
{
    [TestCase(0)]
    [TestCase(1)]
    [TestCase(56)]
    [TestCase(57)]
    [TestCase(58)]
    [TestCase(57 * 1024)]
    [TestCase(57 * 1024 + 1)]
    [TestCase(1_000_003)]
    public async Task Output_IsWhatMimeKitsBase64EncoderWrites_InCrlfLines(int size)
    {
        var data = RandomNumberGenerator.GetBytes(size);
        var expected = MimeKitBase64(data, NewLineFormat.Dos);

        var syncOutput = new MemoryStream();
        using (var writer = new Base64LineWriter(syncOutput, "\r\n"))
            foreach (var chunk in RandomChunks(data, seed: size)) writer.Write(chunk);

        var asyncOutput = new MemoryStream();
        await using (var writer = new Base64LineWriter(asyncOutput, "\r\n"))
            foreach (var chunk in RandomChunks(data, seed: size + 1)) await writer.WriteAsync(chunk);

        Assert.That(syncOutput.ToArray(), Is.EqualTo(expected));
        Assert.That(asyncOutput.ToArray(), Is.EqualTo(expected));
        Assert.That(Convert.FromBase64String(System.Text.Encoding.ASCII.GetString(expected)), Is.EqualTo(data));
    }

    [Test]
    public void LfLineEnds_AreWrittenWhenAskedFor()
    {
        var data = RandomNumberGenerator.GetBytes(200);
        var output = new MemoryStream();
        using (var writer = new Base64LineWriter(output, "\n")) writer.Write(data);

        Assert.That(output.ToArray(), Is.EqualTo(MimeKitBase64(data, NewLineFormat.Unix)));
        Assert.That(output.ToArray(), Does.Not.Contain((byte)'\r'));
    }

    [Test]
    public void InnerStream_StaysOpen_AndWritingAfterDisposeFails()
    {
        var output = new MemoryStream();
        var writer = new Base64LineWriter(output, "\r\n");
        writer.Write([1, 2, 3]);
        writer.Dispose();

        Assert.That(output.CanWrite, Is.True);
        Assert.That(System.Text.Encoding.ASCII.GetString(output.ToArray()), Is.EqualTo("AQID\r\n"));
        Assert.That(writer.CanWrite, Is.False);
    }

    private static byte[] MimeKitBase64(byte[] data, NewLineFormat format)
    {
        var output = new MemoryStream();
        using (var filtered = new FilteredStream(output))
        {
            filtered.Add(EncoderFilter.Create(ContentEncoding.Base64));
            filtered.Add(format == NewLineFormat.Dos ? new Unix2DosFilter() : new Dos2UnixFilter());
            if (data.Length > 0) filtered.Write(data, 0, data.Length); // MimeKit's encoder throws on an empty write
            filtered.Flush();
        }
        return output.ToArray();
    }

    private static IEnumerable<byte[]> RandomChunks(byte[] data, int seed)
    {
        var random = new Random(seed);
        for (var at = 0; at < data.Length;)
        {
            var length = Math.Min(data.Length - at, random.Next(1, 100_000));
            yield return data[at..(at + length)];
            at += length;
        }
    }
}
