using System.Text;
using MimeKit;
using MimeKit.IO;
using MimeKit.IO.Filters;
using PhiMailGateway.Inspection;

namespace PhiMailGateway.Tests.Inspection;

public class Base64DecodingStreamTests
{
    private static byte[] MimeKitDecode(byte[] encoded)
    {
        using var output = new MemoryStream();
        using (var filtered = new FilteredStream(output))
        {
            filtered.Add(DecoderFilter.Create(ContentEncoding.Base64));
            filtered.Write(encoded);
            filtered.Flush();
        }
        return output.ToArray();
    }

    private static async Task<byte[]> OursAsync(byte[] encoded, bool async, int readSize)
    {
        await using var stream = new Base64DecodingStream(new MemoryStream(encoded));
        using var output = new MemoryStream();
        var buffer = new byte[readSize];
        int n;
        while ((n = async ? await stream.ReadAsync(buffer) : stream.Read(buffer)) > 0) output.Write(buffer, 0, n);
        return output.ToArray();
    }

    private static byte[] Wrapped(byte[] data)
    {
        var text = Convert.ToBase64String(data, Base64FormattingOptions.InsertLineBreaks);
        return Encoding.ASCII.GetBytes(text + "\r\n");
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(65535)]
    [TestCase(200_003)]
    public async Task PlainBase64_DecodesToTheOriginal(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        Assert.That(await OursAsync(Wrapped(data), async: true, 81920), Is.EqualTo(data));
        Assert.That(await OursAsync(Wrapped(data), async: false, 1000), Is.EqualTo(data));
    }

    [Test]
    public async Task DamagedBase64_DecodesExactlyAsMimeKitDoes_WhereverTheDamageIs()
    {
        // Stray characters, padding in the middle, a cut-off end: each at random places, also
        // across the 64 KiB chunk boundaries, compared with MimeKit decoding the whole part.
        var garbage = "!*=-\u00e9.~"u8.ToArray();
        await AssertDecodesAsMimeKitAsync(seed: 8, rounds: 60, maxBytes: 160_000, (wrapped, random) =>
        {
            var encoded = wrapped.ToList();
            var damages = random.Next(1, 4);
            for (var d = 0; d < damages; d++)
            {
                var at = random.Next(encoded.Count);
                switch (random.Next(3))
                {
                    case 0: encoded.Insert(at, garbage[random.Next(garbage.Length)]); break;
                    case 1: encoded.RemoveAt(at); break;
                    default: encoded.RemoveRange(at, encoded.Count - at); break;
                }
            }
            return encoded.ToArray();
        });
    }

    [Test]
    public async Task BlanksInsideRegularLines_DecodeExactlyAsMimeKitDoes()
    {
        // A blank or line break in place of a character keeps every line its usual length: the lines
        // are copied without being searched, so this checks the handover to MimeKit behind them.
        var blanks = " \t\r\n"u8.ToArray();
        await AssertDecodesAsMimeKitAsync(seed: 5, rounds: 40, maxBytes: 200_000, (encoded, random) =>
        {
            for (var d = random.Next(1, 4); d > 0; d--) encoded[random.Next(encoded.Length)] = blanks[random.Next(blanks.Length)];
            return encoded;
        });
    }

    /// <summary>Random data of up to <paramref name="maxBytes"/>, base64-wrapped, damaged, then decoded by us (sync and async, odd read sizes) and by MimeKit.</summary>
    private static async Task AssertDecodesAsMimeKitAsync(int seed, int rounds, int maxBytes, Func<byte[], Random, byte[]> damage)
    {
        var random = new Random(seed);
        for (var round = 0; round < rounds; round++)
        {
            var data = new byte[random.Next(1, maxBytes)];
            random.NextBytes(data);
            var bytes = damage(Wrapped(data), random);
            Assert.That(await OursAsync(bytes, async: round % 2 == 0, 4096 + round), Is.EqualTo(MimeKitDecode(bytes)), $"round {round}");
        }
    }
}
