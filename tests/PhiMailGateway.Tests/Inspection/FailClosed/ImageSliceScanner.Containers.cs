using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Decoders for shapes inside files: PDF streams, RTF hex data, bzip2, xz, zstd, lzip, tar. Written
// apart from the gateway's readers (regular expressions and library streams) so that a mistake in
// one is not repeated in the other. 7z, rar and OLE2 shapes store their payload raw.
public static partial class ImageSliceScanner
{
    private static IEnumerable<Decoder> ContainerDecoders() => [PdfStreams, RtfHex, Bzip2, Xz, Zstd, Lzip, Tar];

    private static IEnumerable<byte[]> Drain(Stream s)
    {
        using var output = new MemoryStream();
        s.CopyTo(output);
        return [output.ToArray()];
    }

    /// <summary>Every "stream ... endstream" of anything that says %PDF, raw, inflated, and hex-decoded then inflated.</summary>
    private static IEnumerable<byte[]> PdfStreams(byte[] blob)
    {
        var text = Encoding.Latin1.GetString(blob);
        if (!text.Contains("%PDF-", StringComparison.Ordinal)) yield break;
        foreach (Match m in Regex.Matches(text, @"stream\r?\n(.*?)\r?\nendstream", RegexOptions.Singleline))
        {
            var raw = Encoding.Latin1.GetBytes(m.Groups[1].Value);
            yield return raw;
            if (TryInflate(raw) is { } inflated) yield return inflated;
            var hex = Regex.Replace(m.Groups[1].Value.TrimEnd('>'), @"\s", "");
            if (hex.Length % 2 == 0 && Regex.IsMatch(hex, "^[0-9A-Fa-f]+$") && TryInflate(Convert.FromHexString(hex)) is { } fromHex) yield return fromHex;
        }
    }

    private static byte[]? TryInflate(byte[] data)
    {
        try
        {
            using var z = new ZLibStream(new MemoryStream(data), CompressionMode.Decompress);
            return Drain(z).Single();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>Long runs of hex digits (RTF \pict and \objdata carry files so).</summary>
    private static IEnumerable<byte[]> RtfHex(byte[] blob)
    {
        if (blob.Length < 5 || !blob.AsSpan().StartsWith(@"{\rtf"u8)) yield break;
        foreach (Match m in Regex.Matches(Encoding.Latin1.GetString(blob), @"(?:[0-9a-fA-F]{2}|\r\n)+"))
        {
            var hex = m.Value.Replace("\r\n", "");
            if (hex.Length >= 256 && hex.Length % 2 == 0) yield return Convert.FromHexString(hex);
        }
    }

    private static IEnumerable<byte[]> Bzip2(byte[] blob) =>
        blob.AsSpan().StartsWith("BZh"u8) ? Drain(BZip2Stream.Create(new MemoryStream(blob), SharpCompress.Compressors.CompressionMode.Decompress, true, false, false)) : [];

    private static IEnumerable<byte[]> Xz(byte[] blob) =>
        blob.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z']) ? Drain(new XZStream(new MemoryStream(blob))) : [];

    private static IEnumerable<byte[]> Zstd(byte[] blob) =>
        blob.AsSpan().StartsWith((ReadOnlySpan<byte>)[0x28, 0xB5, 0x2F, 0xFD]) ? Drain(new SharpCompress.Compressors.ZStandard.DecompressionStream(new MemoryStream(blob), 81920, false, false)) : [];

    private static IEnumerable<byte[]> Lzip(byte[] blob) =>
        blob.AsSpan().StartsWith("LZIP"u8) ? Drain(LZipStream.Create(new MemoryStream(blob), SharpCompress.Compressors.CompressionMode.Decompress, false)) : [];

    private static IEnumerable<byte[]> Tar(byte[] blob)
    {
        if (blob.Length < 512 || !blob.AsSpan(257, 5).SequenceEqual("ustar"u8)) yield break;
        using var reader = new TarReader(new MemoryStream(blob));
        while (reader.GetNextEntry() is { } entry)
        {
            if (entry.DataStream is { } data) foreach (var b in Drain(data)) yield return b;
        }
    }
}
