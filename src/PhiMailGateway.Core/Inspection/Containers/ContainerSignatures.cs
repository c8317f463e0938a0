using System.Buffers.Binary;

namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Signatures of files that hold other files (compressed streams, tar, PDF, RTF) and of containers
/// the gateway cannot look inside (7z, rar, OLE2 compound files, cab). Each check is anchored at
/// offset 0, except tar's magic at 257 (its first bytes are a file name) and a PDF header within
/// the first 1024 bytes (where readers still accept it, so junk in front must not hide one).
/// </summary>
public static class ContainerSignatures
{
    private const int PdfHeaderWindow = 1024;

    /// <summary>The sniff result for a container, or null when the bytes are none of these.</summary>
    public static SniffResult? Sniff(ReadOnlySpan<byte> p)
    {
        if (CompressionFormat(p) is { } compressed) return new SniffResult { Family = ContentFamily.Compressed, Format = compressed };
        if (IsPdf(p)) return new SniffResult { Family = ContentFamily.Pdf, Format = "PDF" };
        if (IsRtf(p)) return new SniffResult { Family = ContentFamily.Rtf, Format = "RTF" };
        if (OpaqueFormat(p) is { } opaque)
            return new SniffResult { Family = ContentFamily.Opaque, Format = opaque, Error = $"{opaque} content cannot be looked inside" };
        if (IsTar(p)) return new SniffResult { Family = ContentFamily.Tar, Format = "TAR" };
        return null;
    }

    /// <summary>True for the containers the inspector opens itself (they are spilled to a scratch file).</summary>
    public static bool IsWalkable(ReadOnlySpan<byte> p) => CompressionFormat(p) is not null || IsPdf(p) || IsRtf(p) || IsTar(p);

    /// <summary>"GZIP", "BZIP2", "XZ", "ZSTD", "LZIP", or null.</summary>
    public static string? CompressionFormat(ReadOnlySpan<byte> p)
    {
        if (p.Length >= 3 && p[0] == 0x1F && p[1] == 0x8B && p[2] == 8) return "GZIP";
        // "BZh1".."BZh9" alone is text-like; the block (pi) or end-of-stream (sqrt pi) magic makes it bzip2.
        if (p.Length >= 10 && p.StartsWith("BZh"u8) && p[3] is >= (byte)'1' and <= (byte)'9'
            && (p[4..10].SequenceEqual((ReadOnlySpan<byte>)[0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) || p[4..10].SequenceEqual((ReadOnlySpan<byte>)[0x17, 0x72, 0x45, 0x38, 0x50, 0x90])))
            return "BZIP2";
        if (p.StartsWith((ReadOnlySpan<byte>)[0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00])) return "XZ";
        if (p.Length >= 4 && BinaryPrimitives.ReadUInt32LittleEndian(p) == 0xFD2FB528) return "ZSTD";
        if (p.Length >= 5 && p.StartsWith("LZIP"u8) && p[4] == 1) return "LZIP";
        return null;
    }

    public static bool IsPdf(ReadOnlySpan<byte> p) => p[..Math.Min(p.Length, PdfHeaderWindow)].IndexOf("%PDF-"u8) >= 0;

    public static bool IsRtf(ReadOnlySpan<byte> p) => p.StartsWith(@"{\rtf"u8);

    /// <summary>ustar, GNU and pax archives carry "ustar" at 257; the header checksum must also hold.</summary>
    public static bool IsTar(ReadOnlySpan<byte> p)
    {
        if (p.Length < 512 || !p.Slice(257, 5).SequenceEqual("ustar"u8)) return false;
        var stored = p.Slice(148, 8);
        long expected = 0;
        foreach (var b in stored)
        {
            if (b is >= (byte)'0' and <= (byte)'7') expected = expected * 8 + (b - '0');
            else if (b is 0 or (byte)' ') { if (expected > 0) break; }
            else return false;
        }
        long sum = 0;
        for (var i = 0; i < 512; i++) sum += i is >= 148 and < 156 ? ' ' : p[i];
        return sum == expected;
    }

    /// <summary>Formats we recognise but do not open: their content fails closed.</summary>
    public static string? OpaqueFormat(ReadOnlySpan<byte> p)
    {
        if (p.StartsWith((ReadOnlySpan<byte>)[(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C])) return "7Z";
        if (p.StartsWith((ReadOnlySpan<byte>)[(byte)'R', (byte)'a', (byte)'r', (byte)'!', 0x1A, 0x07])) return "RAR";
        if (p.StartsWith((ReadOnlySpan<byte>)[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])) return "OLE2";
        if (p.Length >= 8 && p.StartsWith("MSCF"u8) && BinaryPrimitives.ReadUInt32LittleEndian(p[4..]) == 0) return "CAB";
        return null;
    }
}
