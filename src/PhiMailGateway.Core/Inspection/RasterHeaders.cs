using System.Buffers.Binary;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Header readers for raster formats: size, channels and bit depth, never pixels. Each takes the
/// prefix of a part whose signature already matched; a header it cannot read gives
/// <see cref="SniffResult.Error"/> (fail closed), never an exception.
/// </summary>
internal static class RasterHeaders
{
    public static SniffResult Broken(string format, string error) =>
        new() { Family = ContentFamily.Raster, Format = format, Error = error };

    private static SniffResult Raster(string format, long width, long height, int components, int bitDepth, bool? grayscale) =>
        width is < 1 or > int.MaxValue || height is < 0 or > int.MaxValue
            ? Broken(format, $"implausible dimensions {width}x{height}")
            : new SniffResult
            {
                Family = ContentFamily.Raster, Format = format, Width = (int)width, Height = height == 0 ? null : (int)height,
                Components = components, BitDepth = bitDepth, Grayscale = grayscale,
            };

    /// <summary>JPEG: walks the marker segments to the first SOFn frame header.</summary>
    public static SniffResult Jpeg(ReadOnlySpan<byte> p)
    {
        var i = 2;
        while (true)
        {
            if (i >= p.Length) return Broken("JPEG", "no frame header (SOF) within the inspected prefix");
            if (p[i] != 0xFF) return Broken("JPEG", "marker expected");
            while (i < p.Length && p[i] == 0xFF) i++; // fill bytes
            if (i >= p.Length) return Broken("JPEG", "truncated");
            var marker = p[i++];
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) continue; // no length
            if (marker is 0xD9 or 0xDA) return Broken("JPEG", "no frame header (SOF) before the image data");
            if (i + 2 > p.Length) return Broken("JPEG", "truncated");
            var length = BinaryPrimitives.ReadUInt16BigEndian(p[i..]);
            if (length < 2) return Broken("JPEG", "invalid segment length");
            if (marker is (>= 0xC0 and <= 0xC3) or (>= 0xC5 and <= 0xC7) or (>= 0xC9 and <= 0xCB) or (>= 0xCD and <= 0xCF))
            {
                if (i + 8 > p.Length || length < 8) return Broken("JPEG", "truncated frame header");
                var precision = p[i + 2];
                var height = BinaryPrimitives.ReadUInt16BigEndian(p[(i + 3)..]);
                var width = BinaryPrimitives.ReadUInt16BigEndian(p[(i + 5)..]);
                var components = p[i + 7];
                if (components == 0) return Broken("JPEG", "frame header with no components");
                return Raster("JPEG", width, height, components, precision, components == 1);
            }
            i += length;
        }
    }

    /// <summary>PNG: IHDR is always the first chunk; a palette image is grayscale when every entry has R=G=B.</summary>
    public static SniffResult Png(ReadOnlySpan<byte> p)
    {
        if (p.Length < 33 || !p.Slice(12, 4).SequenceEqual("IHDR"u8)) return Broken("PNG", "IHDR chunk missing");
        var width = BinaryPrimitives.ReadUInt32BigEndian(p[16..]);
        var height = BinaryPrimitives.ReadUInt32BigEndian(p[20..]);
        var bitDepth = p[24];
        var colourType = p[25];
        bool? gray;
        int components;
        switch (colourType)
        {
            case 0: gray = true; components = 1; break;
            case 4: gray = true; components = 2; break;
            case 2: gray = false; components = 3; break;
            case 6: gray = false; components = 4; break;
            case 3: gray = PngPaletteIsGray(p); components = 1; break;
            default: return Broken("PNG", $"unknown colour type {colourType}");
        }
        return Raster("PNG", width, height == 0 ? -1 : height, components, bitDepth, gray);
    }

    private static bool PngPaletteIsGray(ReadOnlySpan<byte> p)
    {
        var i = 8;
        while (i + 12 <= p.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(p[i..]);
            var type = p.Slice(i + 4, 4);
            if (type.SequenceEqual("PLTE"u8))
                return length <= (uint)(p.Length - i - 8) && IsGrayPalette(p.Slice(i + 8, (int)length), 3);
            if (type.SequenceEqual("IDAT"u8) || length > (uint)(p.Length - i - 12)) return false;
            i += 12 + (int)length;
        }
        return false;
    }

    private static bool IsGrayPalette(ReadOnlySpan<byte> palette, int stride)
    {
        if (palette.Length < stride) return false;
        for (var i = 0; i + 2 < palette.Length; i += stride)
        {
            if (palette[i] != palette[i + 1] || palette[i] != palette[i + 2]) return false;
        }
        return true;
    }

    /// <summary>TIFF (classic, both byte orders): the first IFD's size, samples, bits and photometric interpretation.</summary>
    public static SniffResult Tiff(ReadOnlySpan<byte> p)
    {
        var big = p[0] == 'M';
        if (p.Length < 8) return Broken("TIFF", "truncated");
        var ifd = U32(p, 4, big);
        if (ifd < 8 || ifd > p.Length - 2) return Broken("TIFF", "first IFD outside the inspected prefix");
        var count = U16(p, (int)ifd, big);
        if (ifd + 2 + count * 12L > p.Length) return Broken("TIFF", "first IFD truncated");
        long width = -1, height = -1;
        int samples = 1, bits = 1, photometric = -1;
        for (var e = 0; e < count; e++)
        {
            var at = (int)ifd + 2 + e * 12;
            var tag = U16(p, at, big);
            var type = U16(p, at + 2, big);
            var n = U32(p, at + 4, big);
            // SHORT (3) values sit left-justified in the 4-byte field; LONG (4) fill it.
            uint Value(ReadOnlySpan<byte> data, int valueAt) => type == 3 ? U16(data, valueAt, big) : U32(data, valueAt, big);
            switch (tag)
            {
                case 256: width = Value(p, at + 8); break;
                case 257: height = Value(p, at + 8); break;
                case 277: samples = (int)Value(p, at + 8); break;
                case 262: photometric = (int)Value(p, at + 8); break;
                case 258:
                    if (type == 3 && n <= 2) bits = U16(p, at + 8, big);
                    else if (type == 3 && U32(p, at + 8, big) is var offset && offset <= p.Length - 2) bits = U16(p, (int)offset, big);
                    break;
            }
        }
        if (width < 0 || height < 0) return Broken("TIFF", "ImageWidth or ImageLength missing");
        var gray = photometric is 0 or 1 || (photometric != 3 && photometric is not (2 or 6) && samples == 1);
        return Raster("TIFF", width, height, samples, bits, gray);
    }

    private static uint U32(ReadOnlySpan<byte> p, int at, bool big) => big ? BinaryPrimitives.ReadUInt32BigEndian(p[at..]) : BinaryPrimitives.ReadUInt32LittleEndian(p[at..]);

    private static ushort U16(ReadOnlySpan<byte> p, int at, bool big) => big ? BinaryPrimitives.ReadUInt16BigEndian(p[at..]) : BinaryPrimitives.ReadUInt16LittleEndian(p[at..]);

    /// <summary>JPEG 2000 JP2 file: boxes to jp2h, then its ihdr (height, width, components, bits).</summary>
    public static SniffResult Jp2(ReadOnlySpan<byte> p)
    {
        var jp2h = FindBox(p, 0, p.Length, "jp2h"u8);
        if (jp2h is not { } header) return Broken("JPEG 2000", "jp2h box not within the inspected prefix");
        var ihdr = FindBox(p, header.Start, header.End, "ihdr"u8);
        if (ihdr is not { } box || box.End - box.Start < 14) return Broken("JPEG 2000", "ihdr box missing");
        var height = BinaryPrimitives.ReadUInt32BigEndian(p[box.Start..]);
        var width = BinaryPrimitives.ReadUInt32BigEndian(p[(box.Start + 4)..]);
        var components = BinaryPrimitives.ReadUInt16BigEndian(p[(box.Start + 8)..]);
        var bpc = p[box.Start + 10];
        return Raster("JPEG 2000", width, height == 0 ? -1 : height, components, bpc == 0xFF ? 0 : (bpc & 0x7F) + 1, components == 1);
    }

    /// <summary>Raw JPEG 2000 codestream: SOC then SIZ with the reference grid and per-component depth.</summary>
    public static SniffResult J2kCodestream(ReadOnlySpan<byte> p)
    {
        if (p.Length < 4 + 38 + 3) return Broken("JPEG 2000", "SIZ marker truncated");
        var siz = p[4..];
        var xsiz = BinaryPrimitives.ReadUInt32BigEndian(siz[4..]);
        var ysiz = BinaryPrimitives.ReadUInt32BigEndian(siz[8..]);
        var xo = BinaryPrimitives.ReadUInt32BigEndian(siz[12..]);
        var yo = BinaryPrimitives.ReadUInt32BigEndian(siz[16..]);
        var components = BinaryPrimitives.ReadUInt16BigEndian(siz[36..]);
        if (xsiz <= xo || ysiz <= yo || components == 0) return Broken("JPEG 2000", "invalid SIZ marker");
        return Raster("JPEG 2000", xsiz - xo, ysiz - yo, components, (siz[38] & 0x7F) + 1, components == 1);
    }

    /// <summary>BMP: the DIB header; an 8-bit (or lower) image is grayscale when its colour table is all grays.</summary>
    public static SniffResult Bmp(ReadOnlySpan<byte> p)
    {
        var dibSize = BinaryPrimitives.ReadUInt32LittleEndian(p[14..]);
        if (p.Length < 14 + Math.Min(dibSize, 40)) return Broken("BMP", "truncated header");
        long width, height;
        int bits;
        int stride;
        if (dibSize == 12)
        {
            width = BinaryPrimitives.ReadUInt16LittleEndian(p[18..]);
            height = BinaryPrimitives.ReadUInt16LittleEndian(p[20..]);
            bits = BinaryPrimitives.ReadUInt16LittleEndian(p[24..]);
            stride = 3;
        }
        else
        {
            width = BinaryPrimitives.ReadInt32LittleEndian(p[18..]);
            height = Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(p[22..]));
            bits = BinaryPrimitives.ReadUInt16LittleEndian(p[28..]);
            stride = 4;
        }
        if (bits is not (1 or 4 or 8 or 16 or 24 or 32)) return Broken("BMP", $"unsupported bit count {bits}");
        var gray = false;
        if (bits <= 8)
        {
            var tableAt = 14 + (int)Math.Min(dibSize, 124);
            var entries = 1 << bits;
            gray = tableAt + entries * stride <= p.Length && IsGrayPalette(p.Slice(tableAt, entries * stride), stride);
        }
        return Raster("BMP", width, height == 0 ? -1 : height, bits <= 8 ? 1 : bits / 8, bits <= 8 ? bits : 8, gray);
    }

    /// <summary>GIF: the logical screen size; grayscale when the global colour table is all grays.</summary>
    public static SniffResult Gif(ReadOnlySpan<byte> p)
    {
        if (p.Length < 13) return Broken("GIF", "truncated header");
        var width = BinaryPrimitives.ReadUInt16LittleEndian(p[6..]);
        var height = BinaryPrimitives.ReadUInt16LittleEndian(p[8..]);
        var packed = p[10];
        var gray = false;
        if ((packed & 0x80) != 0)
        {
            var size = 3 * (1 << ((packed & 7) + 1));
            gray = 13 + size <= p.Length && IsGrayPalette(p.Slice(13, size), 3);
        }
        return Raster("GIF", width, height == 0 ? -1 : height, 1, 8, gray);
    }

    /// <summary>WebP: the first chunk (VP8, VP8L or VP8X) carries the canvas size. Treated as colour.</summary>
    public static SniffResult WebP(ReadOnlySpan<byte> p)
    {
        if (p.Length < 30) return Broken("WebP", "truncated header");
        var chunk = p.Slice(12, 4);
        var data = p[20..];
        if (chunk.SequenceEqual("VP8 "u8))
        {
            if (data[3] != 0x9D || data[4] != 0x01 || data[5] != 0x2A) return Broken("WebP", "invalid VP8 frame header");
            return Raster("WebP", BinaryPrimitives.ReadUInt16LittleEndian(data[6..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(data[8..]) & 0x3FFF, 3, 8, false);
        }
        if (chunk.SequenceEqual("VP8L"u8))
        {
            if (data[0] != 0x2F) return Broken("WebP", "invalid VP8L signature");
            var bits = BinaryPrimitives.ReadUInt32LittleEndian(data[1..]);
            return Raster("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 4, 8, false);
        }
        if (chunk.SequenceEqual("VP8X"u8))
        {
            var width = 1 + (data[4] | data[5] << 8 | data[6] << 16);
            var height = 1 + (data[7] | data[8] << 8 | data[9] << 16);
            return Raster("WebP", width, height, 4, 8, false);
        }
        return Broken("WebP", "unknown first chunk");
    }

    /// <summary>The ISO-BMFF brands of HEIF still images (HEIC, AVIF), or null.</summary>
    public static string? HeifBrand(ReadOnlySpan<byte> brand) => brand switch
    {
        _ when brand.SequenceEqual("heic"u8) || brand.SequenceEqual("heix"u8) || brand.SequenceEqual("heim"u8) || brand.SequenceEqual("heis"u8)
            || brand.SequenceEqual("hevc"u8) || brand.SequenceEqual("hevx"u8) => "HEIC",
        _ when brand.SequenceEqual("mif1"u8) || brand.SequenceEqual("msf1"u8) => "HEIF",
        _ when brand.SequenceEqual("avif"u8) || brand.SequenceEqual("avis"u8) => "AVIF",
        _ => null,
    };

    /// <summary>
    /// HEIF: dimensions come from the largest ispe property (meta > iprp > ipco); they are optional,
    /// and an image without them stays a colour photo of unknown size (protected).
    /// </summary>
    public static SniffResult Heif(ReadOnlySpan<byte> p, string format)
    {
        long width = 0, height = 0;
        if (FindBox(p, 0, p.Length, "meta"u8) is { } meta
            && FindBox(p, meta.Start + 4, meta.End, "iprp"u8) is { } iprp
            && FindBox(p, iprp.Start, iprp.End, "ipco"u8) is { } ipco)
        {
            var at = ipco.Start;
            while (NextBox(p, at, ipco.End) is { } box)
            {
                if (box.Type == BinaryPrimitives.ReadUInt32BigEndian("ispe"u8) && box.End - box.Start >= 12)
                {
                    var w = BinaryPrimitives.ReadUInt32BigEndian(p[(box.Start + 4)..]);
                    var h = BinaryPrimitives.ReadUInt32BigEndian(p[(box.Start + 8)..]);
                    if ((long)w * h > width * height) { width = w; height = h; }
                }
                at = box.End;
            }
        }
        return width > 0 && height > 0
            ? Raster(format, width, height, 3, 8, false)
            : new SniffResult { Family = ContentFamily.Raster, Format = format, Components = 3, Grayscale = false };
    }

    private static (int Start, int End)? FindBox(ReadOnlySpan<byte> p, int from, int end, ReadOnlySpan<byte> type)
    {
        var at = from;
        while (NextBox(p, at, end) is { } box)
        {
            if (box.Type == BinaryPrimitives.ReadUInt32BigEndian(type)) return (box.Start, box.End);
            at = box.End;
        }
        return null;
    }

    /// <summary>One ISO-BMFF / JP2 box within [at, end): its type and content range, or null at the end or on a bad length.</summary>
    private static BoxInfo? NextBox(ReadOnlySpan<byte> p, int at, int end)
    {
        end = Math.Min(end, p.Length);
        if (at < 0 || at + 8 > end) return null;
        long size = BinaryPrimitives.ReadUInt32BigEndian(p[at..]);
        var header = 8;
        if (size == 1)
        {
            if (at + 16 > end) return null;
            size = (long)Math.Min(BinaryPrimitives.ReadUInt64BigEndian(p[(at + 8)..]), long.MaxValue);
            header = 16;
        }
        else if (size == 0)
        {
            size = end - at;
        }
        if (size < header) return null;
        var boxEnd = size > end - at ? end : (int)(at + size);
        return new BoxInfo(BinaryPrimitives.ReadUInt32BigEndian(p[(at + 4)..]), at + header, boxEnd);
    }

    private readonly record struct BoxInfo(uint Type, int Start, int End);
}
