using System.IO.Compression;

namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// The PDF stream filters that carry general data (Flate, LZW, RunLength, ASCIIHex, ASCII85),
/// each bounded by an output limit. Image codecs (DCT, JPX, JBIG2, CCITT) are not decoded here:
/// a DCT or JPX stream is a JPEG or JPEG 2000 file and is sniffed as one. Filters not listed, a
/// crypt filter or a predictor throw <see cref="NotSupportedException"/>: the stream fails closed.
/// </summary>
internal static class PdfFilters
{
    public static readonly IReadOnlySet<string> ImageCodecs = new HashSet<string>(StringComparer.Ordinal) { "DCTDecode", "JPXDecode", "JBIG2Decode", "CCITTFaxDecode" };

    /// <summary>The stream's filters in order, abbreviations expanded.</summary>
    public static IReadOnlyList<string> Of(Dictionary<string, object?> dict, PdfObjects objects)
    {
        var value = objects.Resolve(dict.GetValueOrDefault("Filter") ?? dict.GetValueOrDefault("F"));
        var names = value switch
        {
            null => [],
            PdfName n => [n.Value],
            List<object?> list => list.Select(v => objects.Resolve(v) is PdfName n ? n.Value : throw new FormatException("filter is not a name")).ToList(),
            _ => throw new FormatException("filter is not a name"),
        };
        return names.Select(n => n switch
        {
            "Fl" => "FlateDecode", "LZW" => "LZWDecode", "RL" => "RunLengthDecode", "AHx" => "ASCIIHexDecode",
            "A85" => "ASCII85Decode", "DCT" => "DCTDecode", "CCF" => "CCITTFaxDecode", _ => n,
        }).ToList();
    }

    /// <summary>True when /DecodeParms asks for a predictor (row filtering we do not undo).</summary>
    public static bool HasPredictor(Dictionary<string, object?> dict, PdfObjects objects)
    {
        var parms = objects.Resolve(dict.GetValueOrDefault("DecodeParms") ?? dict.GetValueOrDefault("DP"));
        IEnumerable<object?> all = parms is List<object?> list ? list : [parms];
        return all.Any(p => objects.Resolve(p) is Dictionary<string, object?> d && objects.Resolve(d.GetValueOrDefault("Predictor")) is double predictor && predictor > 1);
    }

    /// <exception cref="ArchiveLimitException">The output would pass <paramref name="maxOutput"/> bytes.</exception>
    public static byte[] Decode(ReadOnlySpan<byte> data, IEnumerable<string> filters, long maxOutput, string limitReason)
    {
        var current = data.ToArray();
        foreach (var filter in filters)
        {
            current = filter switch
            {
                "FlateDecode" => Inflate(current, maxOutput, limitReason),
                "LZWDecode" => Lzw(current, maxOutput, limitReason),
                "RunLengthDecode" => RunLength(current, maxOutput, limitReason),
                "ASCIIHexDecode" => AsciiHex(current),
                "ASCII85Decode" => Ascii85(current),
                _ => throw new NotSupportedException($"PDF filter {filter} is not decoded"),
            };
        }
        return current;
    }

    private static byte[] Inflate(byte[] data, long maxOutput, string limitReason)
    {
        using var z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        while ((read = z.Read(buffer)) > 0)
        {
            if (output.Length + read > maxOutput) throw new ArchiveLimitException(limitReason);
            output.Write(buffer, 0, read);
        }
        return output.ToArray();
    }

    private static byte[] RunLength(byte[] data, long maxOutput, string limitReason)
    {
        var output = new MemoryStream();
        for (var i = 0; i < data.Length;)
        {
            int length = data[i++];
            if (length == 128) break;
            if (length < 128)
            {
                if (i + length + 1 > data.Length) throw new FormatException("RunLength data is truncated");
                output.Write(data, i, length + 1);
                i += length + 1;
            }
            else
            {
                if (i >= data.Length) throw new FormatException("RunLength data is truncated");
                for (var n = 0; n < 257 - length; n++) output.WriteByte(data[i]);
                i++;
            }
            if (output.Length > maxOutput) throw new ArchiveLimitException(limitReason);
        }
        return output.ToArray();
    }

    private static byte[] AsciiHex(byte[] data)
    {
        var output = new List<byte>(data.Length / 2);
        int? high = null;
        foreach (var b in data)
        {
            if (b == '>') break;
            if (PdfSyntax.IsWhite(b)) continue;
            var v = HexValue(b) ?? throw new FormatException("bad ASCIIHex digit");
            if (high is { } h) { output.Add((byte)(h << 4 | v)); high = null; }
            else high = v;
        }
        if (high is { } last) output.Add((byte)(last << 4));
        return [.. output];
    }

    private static int? HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => null,
    };

    private static byte[] Ascii85(byte[] data)
    {
        var output = new List<byte>(data.Length * 4 / 5);
        Span<uint> group = stackalloc uint[5];
        var n = 0;
        for (var i = 0; i < data.Length; i++)
        {
            var b = data[i];
            if (PdfSyntax.IsWhite(b)) continue;
            if (b == '~') break;
            if (b == 'z' && n == 0) { output.AddRange([0, 0, 0, 0]); continue; }
            if (b is < (byte)'!' or > (byte)'u') throw new FormatException("bad ASCII85 digit");
            group[n++] = (uint)(b - '!');
            if (n == 5) { Flush(group, 5, output); n = 0; }
        }
        if (n == 1) throw new FormatException("ASCII85 data ends in a lone digit");
        if (n > 0)
        {
            for (var k = n; k < 5; k++) group[k] = 84;
            Flush(group, n, output);
        }
        return [.. output];

        static void Flush(Span<uint> g, int count, List<byte> o)
        {
            ulong value = 0;
            foreach (var digit in g) value = value * 85 + digit;
            if (value > uint.MaxValue) throw new FormatException("ASCII85 group out of range");
            for (var k = 0; k < count - 1; k++) o.Add((byte)(value >> (24 - 8 * k)));
        }
    }

    /// <summary>LZW as PDF and TIFF use it: 9 to 12 bit codes, most significant bit first, early change on.</summary>
    private static byte[] Lzw(byte[] data, long maxOutput, string limitReason)
    {
        var output = new MemoryStream();
        var table = new List<byte[]>(4096);
        void Reset()
        {
            table.Clear();
            for (var c = 0; c < 256; c++) table.Add([(byte)c]);
            table.Add([]);
            table.Add([]);
        }
        Reset();
        var width = 9;
        long bits = 0;
        var bitCount = 0;
        byte[]? previous = null;
        foreach (var b in data)
        {
            bits = bits << 8 | b;
            bitCount += 8;
            while (bitCount >= width)
            {
                var code = (int)(bits >> (bitCount - width)) & ((1 << width) - 1);
                bitCount -= width;
                if (code == 256) { Reset(); width = 9; previous = null; continue; }
                if (code == 257) return output.ToArray();
                byte[] entry;
                if (code < table.Count) entry = table[code];
                else if (code == table.Count && previous is not null) entry = [.. previous, previous[0]];
                else throw new FormatException("bad LZW code");
                output.Write(entry);
                if (output.Length > maxOutput) throw new ArchiveLimitException(limitReason);
                if (previous is not null && table.Count < 4096) table.Add([.. previous, entry[0]]);
                previous = entry;
                width = table.Count + 1 >= 4096 ? 12 : table.Count + 1 >= 2048 ? 12 : table.Count + 1 >= 1024 ? 11 : table.Count + 1 >= 512 ? 10 : 9;
            }
        }
        return output.ToArray();
    }
}
