using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace PhiMailGateway.Bench.Content;

/// <summary>
/// Synthetic dental files for the benchmark, built in code and deterministic (fixed seeds). The
/// approach follows the test kit's DentalCorpus (real marker structure, filler entropy bytes), copied
/// here because the bench must not depend on the test project. Patient data is fake (TEST^PATIENT).
/// </summary>
public static class DentalContent
{
    public const string PatientName = "TEST^PATIENT";
    public const string PatientId = "TEST-0001";

    /// <summary>
    /// A baseline JPEG: SOI, APP0 (JFIF), DQT, SOF0 with the real dimensions, DHT, SOS, filler scan
    /// bytes (no 0xFF, so no marker appears inside), EOI. Inspection reads the SOF0 header only.
    /// </summary>
    public static byte[] Jpeg(int width, int height, int components, int totalBytes, int seed)
    {
        var s = new MemoryStream(totalBytes + 64);
        s.Write([0xFF, 0xD8]);
        s.Write([0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
        s.Write([0xFF, 0xDB, 0x00, 0x43, 0x00]);
        s.Write(Enumerable.Repeat((byte)1, 64).ToArray());
        var sof = new List<byte> { 0xFF, 0xC0 };
        sof.AddRange(BigEndian16(8 + 3 * components));
        sof.Add(8);
        sof.AddRange(BigEndian16(height));
        sof.AddRange(BigEndian16(width));
        sof.Add((byte)components);
        for (var c = 1; c <= components; c++) sof.AddRange([(byte)c, 0x11, 0]);
        s.Write(sof.ToArray());
        s.Write([0xFF, 0xC4, 0x00, 0x14, 0x00, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        var sos = new List<byte> { 0xFF, 0xDA };
        sos.AddRange(BigEndian16(6 + 2 * components));
        sos.Add((byte)components);
        for (var c = 1; c <= components; c++) sos.AddRange([(byte)c, 0]);
        sos.AddRange([0, 63, 0]);
        s.Write(sos.ToArray());
        var scan = new byte[Math.Max(1024, totalBytes - (int)s.Length - 2)];
        new Random(seed).NextBytes(scan);
        for (var i = 0; i < scan.Length; i++) if (scan[i] == 0xFF) scan[i] = 0xFE;
        s.Write(scan);
        s.Write([0xFF, 0xD9]);
        return s.ToArray();
    }

    /// <summary>A PDF-looking document (header, filler, trailer): inspection sniffs it as PDF, not an image.</summary>
    public static byte[] Pdf(int totalBytes)
    {
        var head = "%PDF-1.4\n%\u00e2\u00e3\n"u8;
        var tail = "\n%%EOF\n"u8;
        var bytes = new byte[Math.Max(totalBytes, head.Length + tail.Length + 16)];
        new Random(1404).NextBytes(bytes);
        head.CopyTo(bytes);
        tail.CopyTo(bytes.AsSpan(bytes.Length - tail.Length));
        return bytes;
    }

    /// <summary>A colour intra-oral photo, 1600x1200, three components.</summary>
    public static byte[] IntraoralJpeg(int totalBytes) => Jpeg(1600, 1200, 3, totalBytes, seed: 1600);

    /// <summary>A grayscale panoramic X-ray, 2900x1400, one component.</summary>
    public static byte[] PanoramicJpeg(int totalBytes) => Jpeg(2900, 1400, 1, totalBytes, seed: 2900);

    /// <summary>
    /// A CBCT series as a practice exports it: one DICOM file (Part 10, explicit VR little endian,
    /// CT image storage, 512x512 16-bit) per slice, zipped. Pixel data is pseudo-random so the zip
    /// stays about as large as its content, like real noisy CT data after deflate.
    /// </summary>
    public static byte[] CbctZip(int zipBytes)
    {
        const int sliceBytes = 512 * 512 * 2;
        var slices = Math.Max(1, zipBytes / (sliceBytes + 1024));
        var random = new Random(512);
        var pixels = new byte[sliceBytes];
        var zip = new MemoryStream(zipBytes + (1 << 20));
        using (var archive = new ZipArchive(zip, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < slices; i++)
            {
                random.NextBytes(pixels);
                var entry = archive.CreateEntry($"CBCT/IMG{i + 1:D4}.dcm", CompressionLevel.Fastest);
                entry.LastWriteTime = new DateTimeOffset(2024, 1, 2, 9, 0, 0, TimeSpan.Zero);
                using var e = entry.Open();
                e.Write(DicomCtSlice(i + 1, pixels));
            }
        }
        return zip.ToArray();
    }

    private static byte[] DicomCtSlice(int instance, byte[] pixels)
    {
        var ds = new MemoryStream(pixels.Length + 1024);
        var w = new DicomWriter(ds);
        w.Element(0x0008, 0x0016, "UI", Ascii("1.2.840.10008.5.1.4.1.1.2", '\0'));
        w.Element(0x0008, 0x0018, "UI", Ascii($"2.25.77{instance}", '\0'));
        w.Element(0x0008, 0x0020, "DA", Ascii("20240102"));
        w.Element(0x0008, 0x0060, "CS", Ascii("CT"));
        w.Element(0x0010, 0x0010, "PN", Ascii(PatientName));
        w.Element(0x0010, 0x0020, "LO", Ascii(PatientId));
        w.Element(0x0018, 0x0015, "CS", Ascii("JAW"));
        w.Element(0x0020, 0x0013, "IS", Ascii(instance.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        w.Element(0x0028, 0x0002, "US", UShort(1));
        w.Element(0x0028, 0x0010, "US", UShort(512));
        w.Element(0x0028, 0x0011, "US", UShort(512));
        w.Element(0x0028, 0x0100, "US", UShort(16));
        w.Element(0x7FE0, 0x0010, "OW", pixels);

        var file = new MemoryStream((int)ds.Length + 512);
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var meta = new MemoryStream();
        var m = new DicomWriter(meta);
        m.Element(0x0002, 0x0001, "OB", [0, 1]);
        m.Element(0x0002, 0x0002, "UI", Ascii("1.2.840.10008.5.1.4.1.1.2", '\0'));
        m.Element(0x0002, 0x0003, "UI", Ascii($"2.25.77{instance}", '\0'));
        m.Element(0x0002, 0x0010, "UI", Ascii("1.2.840.10008.1.2.1", '\0'));
        new DicomWriter(file).Element(0x0002, 0x0000, "UL", BitConverter.GetBytes((uint)meta.Length));
        meta.Position = 0;
        meta.CopyTo(file);
        ds.Position = 0;
        ds.CopyTo(file);
        return file.ToArray();
    }

    private sealed class DicomWriter(Stream s)
    {
        private static readonly HashSet<string> LongVrs = ["OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"];

        public void Element(ushort group, ushort element, string vr, byte[] value)
        {
            Span<byte> tag = stackalloc byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(tag, group);
            BinaryPrimitives.WriteUInt16LittleEndian(tag[2..], element);
            s.Write(tag);
            s.Write(Encoding.ASCII.GetBytes(vr));
            if (LongVrs.Contains(vr))
            {
                Span<byte> len = stackalloc byte[6];
                BinaryPrimitives.WriteUInt32LittleEndian(len[2..], (uint)value.Length);
                s.Write(len);
            }
            else
            {
                Span<byte> len = stackalloc byte[2];
                BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)value.Length);
                s.Write(len);
            }
            s.Write(value);
        }
    }

    private static byte[] Ascii(string text, char pad = ' ')
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        return bytes.Length % 2 == 0 ? bytes : [.. bytes, (byte)pad];
    }

    private static byte[] UShort(int v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v);
        return b;
    }

    private static byte[] BigEndian16(int v) => [(byte)(v >> 8), (byte)v];
}
