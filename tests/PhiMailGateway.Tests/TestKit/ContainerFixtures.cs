using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// Files that hold other files, written in code: compressed streams (gzip, bzip2, xz, zstd, lzip),
/// tar (ustar, GNU, pax), PDFs with image objects and embedded files, Office zips, RTF pictures, and
/// synthetic 7z/rar/OLE2 files (nothing here writes those; signature plus the payload stored raw).
/// </summary>
public static class ContainerFixtures
{
    // ---------------------------------------------------------------- compressed streams

    public static byte[] Gzip(byte[] content)
    {
        var s = new MemoryStream();
        using (var g = new GZipStream(s, CompressionLevel.Optimal, leaveOpen: true)) g.Write(content);
        return s.ToArray();
    }

    public static byte[] Bzip2(byte[] content)
    {
        var s = new MemoryStream();
        using (var b = BZip2Stream.Create(s, SharpCompress.Compressors.CompressionMode.Compress, false, leaveOpen: true, false)) b.Write(content);
        return s.ToArray();
    }

    public static byte[] Zstd(byte[] content)
    {
        var s = new MemoryStream();
        using (var z = new SharpCompress.Compressors.ZStandard.CompressionStream(s, 3, 81920, leaveOpen: true)) z.Write(content);
        return s.ToArray();
    }

    public static byte[] Lzip(byte[] content)
    {
        var s = new MemoryStream();
        using (var z = LZipStream.Create(s, SharpCompress.Compressors.CompressionMode.Compress, leaveOpen: true)) z.Write(content);
        return s.ToArray();
    }

    /// <summary>
    /// A valid .xz file (nothing here writes xz): one block whose LZMA2 data is made of
    /// uncompressed chunks, check type None, index and footer with real CRC32s.
    /// </summary>
    public static byte[] Xz(byte[] content)
    {
        var s = new MemoryStream();
        byte[] flags = [0x00, 0x00];
        s.Write([0xFD, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]);
        s.Write(flags);
        s.Write(Le32(Crc32(flags)));
        byte[] blockHeader = [0x02, 0x00, 0x21, 0x01, 0x16, 0x00, 0x00, 0x00];
        var blockStart = s.Length;
        s.Write(blockHeader);
        s.Write(Le32(Crc32(blockHeader)));
        for (var offset = 0; offset < content.Length; offset += 0x10000)
        {
            var size = Math.Min(0x10000, content.Length - offset);
            s.WriteByte(offset == 0 ? (byte)0x01 : (byte)0x02);
            s.WriteByte((byte)((size - 1) >> 8));
            s.WriteByte((byte)(size - 1));
            s.Write(content, offset, size);
        }
        s.WriteByte(0x00);
        var unpadded = s.Length - blockStart;
        while (s.Length % 4 != 0) s.WriteByte(0);
        var index = new MemoryStream();
        index.WriteByte(0x00);
        VarInt(index, 1);
        VarInt(index, (ulong)unpadded);
        VarInt(index, (ulong)content.Length);
        while (index.Length % 4 != 0) index.WriteByte(0);
        var indexBytes = index.ToArray();
        s.Write(indexBytes);
        s.Write(Le32(Crc32(indexBytes)));
        byte[] footer = [.. Le32((uint)((indexBytes.Length + 4) / 4 - 1)), .. flags];
        s.Write(Le32(Crc32(footer)));
        s.Write(footer);
        s.Write("YZ"u8);
        return s.ToArray();
    }

    private static void VarInt(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private static byte[] Le32(uint v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        return b;
    }

    public static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? crc >> 1 ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }

    // ---------------------------------------------------------------- tar

    public static byte[] Tar(TarEntryFormat format, params (string Name, byte[] Content)[] entries)
    {
        var s = new MemoryStream();
        using (var w = new TarWriter(s, format, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                TarEntry entry = format switch
                {
                    TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.RegularFile, name),
                    TarEntryFormat.Gnu => new GnuTarEntry(TarEntryType.RegularFile, name),
                    _ => new PaxTarEntry(TarEntryType.RegularFile, name),
                };
                entry.DataStream = new MemoryStream(content);
                w.WriteEntry(entry);
            }
        }
        return s.ToArray();
    }

    // ---------------------------------------------------------------- synthetic formats nothing here writes

    /// <summary>A 7z signature header followed by the payload stored raw (enough to prove a 7z fails closed).</summary>
    public static byte[] SevenZipStored(byte[] content) =>
        [(byte)'7', (byte)'z', 0xBC, 0xAF, 0x27, 0x1C, 0x00, 0x04, .. new byte[24], .. content];

    /// <summary>A RAR 5 signature and a stored file's bytes.</summary>
    public static byte[] RarStored(byte[] content) =>
        [(byte)'R', (byte)'a', (byte)'r', (byte)'!', 0x1A, 0x07, 0x01, 0x00, .. new byte[16], .. content];

    /// <summary>An OLE2 compound file header (a legacy .doc/.xls/.msg) with the payload in its sectors.</summary>
    public static byte[] Ole2(byte[] content) =>
        [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, .. new byte[16], 0x3E, 0x00, 0x03, 0x00, 0xFE, 0xFF, 0x09, 0x00, .. new byte[512 - 32], .. content];

    // ---------------------------------------------------------------- images PDF and RTF carry

    /// <summary>A JPEG 2000 file (JP2 boxes with a real ihdr; the codestream after it is filler).</summary>
    public static byte[] Jp2(int width, int height, int components)
    {
        var s = new MemoryStream();
        s.Write([0, 0, 0, 0x0C, (byte)'j', (byte)'P', (byte)' ', (byte)' ', 0x0D, 0x0A, 0x87, 0x0A]);
        s.Write([0, 0, 0, 20, (byte)'f', (byte)'t', (byte)'y', (byte)'p', (byte)'j', (byte)'p', (byte)'2', (byte)' ', 0, 0, 0, 0, (byte)'j', (byte)'p', (byte)'2', (byte)' ']);
        s.Write([0, 0, 0, 30, (byte)'j', (byte)'p', (byte)'2', (byte)'h']);
        s.Write([0, 0, 0, 22, (byte)'i', (byte)'h', (byte)'d', (byte)'r', .. Be32(height), .. Be32(width), (byte)(components >> 8), (byte)components, 7, 7, 0, 0]);
        var codestream = new byte[32 * 1024];
        new Random(width ^ height).NextBytes(codestream);
        s.Write([.. Be32(8 + codestream.Length), (byte)'j', (byte)'p', (byte)'2', (byte)'c']);
        s.Write(codestream);
        return s.ToArray();
    }

    /// <summary>Pixels that look like nothing in particular (seeded), so a 64-byte slice of them is unique.</summary>
    public static byte[] Pixels(int count, int seed)
    {
        var pixels = new byte[count];
        new Random(seed).NextBytes(pixels);
        return pixels;
    }

    public static byte[] Zlib(byte[] content)
    {
        var s = new MemoryStream();
        using (var z = new ZLibStream(s, CompressionLevel.Optimal, leaveOpen: true)) z.Write(content);
        return s.ToArray();
    }

    private static byte[] Be32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    /// <summary>An RTF letter with one picture group (\pict, the given blip type, hex data), as Word writes it.</summary>
    public static byte[] RtfWithPicture(byte[] picture, string blip = "jpegblip", string destination = "pict")
    {
        var sb = new StringBuilder();
        sb.Append(@"{\rtf1\ansi\deff0{\fonttbl{\f0 Calibri;}}\pard Referral for TEST^PATIENT, see the X-ray below.\par ");
        sb.Append(destination == "pict" ? $@"{{\*\shppict{{\pict\{blip}\picw2000\pich1000\picwgoal11340\pichgoal5670 " : $@"{{\object\objemb{{\*\objclass Package}}{{\*\objdata ");
        var hex = Convert.ToHexStringLower(picture);
        for (var i = 0; i < hex.Length; i += 128) sb.Append(hex.AsSpan(i, Math.Min(128, hex.Length - i))).Append("\r\n");
        sb.Append(destination == "pict" ? "}}" : "}}");
        sb.Append(@"\par Kind regards}");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    // ---------------------------------------------------------------- Office (zip) documents

    /// <summary>An OOXML package: content types, a main part, and the given media and embedded files.</summary>
    public static byte[] Ooxml(string mainPart, params (string Name, byte[] Content)[] files) =>
        DentalCorpus.Zip([
            ("[Content_Types].xml", Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"jpeg\" ContentType=\"image/jpeg\"/></Types>")),
            ("_rels/.rels", Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"/>")),
            (mainPart, Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><document>Referral for TEST^PATIENT</document>")),
            .. files,
        ]);

    /// <summary>An OpenDocument text: the stored "mimetype" first, then content and pictures.</summary>
    public static byte[] Odt(params (string Name, byte[] Content)[] files)
    {
        var s = new MemoryStream();
        using (var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true))
        {
            using (var m = zip.CreateEntry("mimetype", CompressionLevel.NoCompression).Open()) m.Write("application/vnd.oasis.opendocument.text"u8);
            using (var c = zip.CreateEntry("content.xml").Open()) c.Write("<office:document-content>Referral</office:document-content>"u8);
            foreach (var (name, content) in files)
            {
                using var e = zip.CreateEntry(name).Open();
                e.Write(content);
            }
        }
        return s.ToArray();
    }

    /// <summary>A zip written to a stream that cannot seek: every entry is streamed (bit 3, data descriptor after the data).</summary>
    public static byte[] StreamedZip(params (string Name, byte[] Content)[] entries)
    {
        var s = new MemoryStream();
        using (var zip = new ZipArchive(new ForwardOnlyStream(s), ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var e = zip.CreateEntry(name).Open();
                e.Write(content);
            }
        }
        return s.ToArray();
    }

    /// <summary>
    /// A zip of stored entries written by hand, to make layouts no writer makes: entries the central
    /// directory leaves out (<c>Listed</c> false), a local name that differs from the directory's, a comment.
    /// </summary>
    public static byte[] HandmadeZip(IEnumerable<(string Name, byte[] Content, bool Listed, string? LocalName)> entries, byte[]? comment = null)
    {
        var s = new MemoryStream();
        var central = new MemoryStream();
        var listed = 0;
        foreach (var (name, content, isListed, localName) in entries)
        {
            var offset = (uint)s.Length;
            var crc = Crc32(content);
            var local = Encoding.UTF8.GetBytes(localName ?? name);
            s.Write([.. Le32(0x04034B50), 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. Le32(crc), .. Le32((uint)content.Length), .. Le32((uint)content.Length),
                (byte)local.Length, (byte)(local.Length >> 8), 0, 0]);
            s.Write(local);
            s.Write(content);
            if (!isListed) continue;
            listed++;
            var n = Encoding.UTF8.GetBytes(name);
            central.Write([.. Le32(0x02014B50), 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. Le32(crc), .. Le32((uint)content.Length), .. Le32((uint)content.Length),
                (byte)n.Length, (byte)(n.Length >> 8), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, .. Le32(offset)]);
            central.Write(n);
        }
        var directoryOffset = (uint)s.Length;
        s.Write(central.ToArray());
        comment ??= [];
        s.Write([.. Le32(0x06054B50), 0, 0, 0, 0, (byte)listed, (byte)(listed >> 8), (byte)listed, (byte)(listed >> 8),
            .. Le32((uint)central.Length), .. Le32(directoryOffset), (byte)comment.Length, (byte)(comment.Length >> 8)]);
        s.Write(comment);
        return s.ToArray();
    }

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        private long _position;
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count)
        {
            inner.Write(buffer, offset, count);
            _position += count;
        }
    }
}

/// <summary>
/// Writes a small PDF object by object, with a correct cross-reference table, so tests can put an
/// image or an embedded file anywhere (on a page, on no page, behind filters, in object streams).
/// </summary>
public sealed class PdfFixture
{
    private readonly List<byte[]> _objects = [];

    /// <summary>Reserves the next object number (for forward references); fill it with <see cref="Set"/>.</summary>
    public int Reserve()
    {
        _objects.Add([]);
        return _objects.Count;
    }

    public int Add(string dictionary, byte[]? stream = null)
    {
        var n = Reserve();
        Set(n, dictionary, stream);
        return n;
    }

    public void Set(int number, string dictionary, byte[]? stream = null)
    {
        var s = new MemoryStream();
        if (stream is null)
        {
            s.Write(Encoding.ASCII.GetBytes($"{number} 0 obj\n{dictionary}\nendobj\n"));
        }
        else
        {
            var dict = dictionary.TrimEnd();
            if (!dict.Contains("/Length")) dict = dict[..^2] + $" /Length {stream.Length} >>";
            s.Write(Encoding.ASCII.GetBytes($"{number} 0 obj\n{dict}\nstream\r\n"));
            s.Write(stream);
            s.Write("\r\nendstream\nendobj\n"u8);
        }
        _objects[number - 1] = s.ToArray();
    }

    /// <summary>A one-page document whose page draws the given XObjects (name to object number); returns the catalog's number.</summary>
    public int Document(IReadOnlyDictionary<string, int> xobjects, string? extraCatalog = null)
    {
        var pages = Reserve();
        var content = Add("<< /Filter /FlateDecode >>", ContainerFixtures.Zlib(Encoding.ASCII.GetBytes(
            "BT /F1 12 Tf 72 720 Td (Referral for TEST^PATIENT) Tj ET\n" + string.Concat(xobjects.Keys.Select(k => $"q 400 0 0 200 72 400 cm /{k} Do Q\n")))));
        var resources = string.Join(" ", xobjects.Select(x => $"/{x.Key} {x.Value} 0 R"));
        var page = Add($"<< /Type /Page /Parent {pages} 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R /Resources << /XObject << {resources} >> >> >>");
        Set(pages, $"<< /Type /Pages /Kids [{page} 0 R] /Count 1 >>");
        return Add($"<< /Type /Catalog /Pages {pages} 0 R {extraCatalog ?? ""} >>");
    }

    public byte[] Build(int root, string? extraTrailer = null, byte[]? prefix = null)
    {
        var s = new MemoryStream();
        if (prefix is not null) s.Write(prefix);
        s.Write("%PDF-1.7\n"u8);
        s.Write([(byte)'%', 0xE2, 0xE3, 0xCF, 0xD3, (byte)'\n']);
        var offsets = new List<long>();
        foreach (var o in _objects)
        {
            offsets.Add(s.Length);
            s.Write(o);
        }
        var xref = s.Length;
        var table = new StringBuilder($"xref\n0 {_objects.Count + 1}\n0000000000 65535 f \n");
        foreach (var offset in offsets) table.Append($"{offset:D10} 00000 n \n");
        table.Append($"trailer\n<< /Size {_objects.Count + 1} /Root {root} 0 R {extraTrailer ?? ""} >>\nstartxref\n{xref}\n%%EOF\n");
        s.Write(Encoding.ASCII.GetBytes(table.ToString()));
        return s.ToArray();
    }
}
