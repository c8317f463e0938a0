using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using MimeKit;
using MimeKit.Tnef;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// Synthetic dental images and messages, built in code (no imaging library needed: inspection reads
/// headers only). All patient data is fake: TEST^PATIENT, TEST-0001. Other tests may reuse these.
/// </summary>
public static class DentalCorpus
{
    public const string PatientName = "TEST^PATIENT";
    public const string PatientId = "TEST-0001";

    // ---------------------------------------------------------------- DICOM

    /// <summary>A DICOM intraoral X-ray: Part 10 with preamble, or a raw dataset; explicit or implicit VR LE.</summary>
    /// <param name="hostileLength">Insert a private element claiming a length of about 4 GB before the patient tags.</param>
    /// <param name="patientName">(0010,0010); the audit tests use other patients, and hostile names.</param>
    /// <param name="pixels">Pixel data (16-bit little endian, or the JPEG of an encapsulated file); 256 zero bytes (no picture) when null.</param>
    /// <param name="jpegBaseline">Transfer syntax JPEG baseline, <paramref name="pixels"/> being the JPEG (one fragment of one frame).</param>
    public static byte[] Dicom(bool explicitVr = true, bool preamble = true, bool hostileLength = false, int rows = 1000, int columns = 1500,
        string patientName = PatientName, string patientId = PatientId, byte[]? pixels = null, bool jpegBaseline = false)
    {
        if (jpegBaseline) explicitVr = true;
        var ds = new MemoryStream();
        var w = new DicomWriter(ds, explicitVr);
        w.Element(0x0008, 0x0016, "UI", Ascii("1.2.840.10008.5.1.4.1.1.1.3", '\0'));
        w.Element(0x0008, 0x0018, "UI", Ascii("2.25.1234567890", '\0'));
        w.Element(0x0008, 0x0020, "DA", Ascii("20240102"));
        w.Element(0x0008, 0x0060, "CS", Ascii("IO"));
        // An undefined-length sequence with one undefined-length item, as many real files have before the patient group.
        w.UndefinedSequence(0x0008, 0x1110, [(0x0008, 0x1150, "UI", Ascii("1.2.840.10008.3.1.2.3.1", '\0')), (0x0008, 0x1155, "UI", Ascii("2.25.42", '\0'))]);
        if (hostileLength) w.RawLongHeader(0x0009, 0x1010, "OB", 0xFFFFFFF0);
        w.Element(0x0010, 0x0010, "PN", Ascii(patientName));
        w.Element(0x0010, 0x0020, "LO", Ascii(patientId));
        w.Element(0x0010, 0x0030, "DA", Ascii("19800101"));
        w.Element(0x0018, 0x0015, "CS", Ascii("JAW"));
        w.Element(0x0028, 0x0002, "US", UShort(jpegBaseline ? 3 : 1));
        if (pixels is not null) w.Element(0x0028, 0x0004, "CS", Ascii(jpegBaseline ? "YBR_FULL_422" : "MONOCHROME2"));
        w.Element(0x0028, 0x0010, "US", UShort(rows));
        w.Element(0x0028, 0x0011, "US", UShort(columns));
        w.Element(0x0028, 0x0100, "US", UShort(jpegBaseline ? 8 : 16));
        if (pixels is not null) w.Element(0x0028, 0x0101, "US", UShort(jpegBaseline ? 8 : 12));
        if (jpegBaseline) w.Encapsulated(0x7FE0, 0x0010, pixels ?? []);
        else w.Element(0x7FE0, 0x0010, "OW", pixels ?? new byte[256]);

        if (!preamble) return ds.ToArray();

        var file = new MemoryStream();
        file.Write(new byte[128]);
        file.Write("DICM"u8);
        var meta = new MemoryStream();
        var m = new DicomWriter(meta, explicitVr: true);
        m.Element(0x0002, 0x0001, "OB", [0, 1]);
        m.Element(0x0002, 0x0002, "UI", Ascii("1.2.840.10008.5.1.4.1.1.1.3", '\0'));
        m.Element(0x0002, 0x0003, "UI", Ascii("2.25.1234567890", '\0'));
        m.Element(0x0002, 0x0010, "UI", Ascii(jpegBaseline ? "1.2.840.10008.1.2.4.50" : explicitVr ? "1.2.840.10008.1.2.1" : "1.2.840.10008.1.2", '\0'));
        var groupLength = new DicomWriter(file, explicitVr: true);
        groupLength.Element(0x0002, 0x0000, "UL", BitConverter.GetBytes((uint)meta.Length));
        meta.Position = 0;
        meta.CopyTo(file);
        ds.Position = 0;
        ds.CopyTo(file);
        return file.ToArray();
    }

    /// <summary>An uncompressed 12-bit DICOM X-ray whose pixels are a real picture (a left-to-right gradient).</summary>
    public static byte[] DicomWithPicture(int rows = 300, int columns = 400) =>
        Dicom(rows: rows, columns: columns, pixels: DicomWriter.Gradient(rows, columns));

    private sealed class DicomWriter(Stream s, bool explicitVr)
    {
        private static readonly HashSet<string> LongVrs = ["OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"];

        public void Element(ushort group, ushort element, string vr, byte[] value)
        {
            Header(group, element, vr, (uint)value.Length);
            s.Write(value);
        }

        public void RawLongHeader(ushort group, ushort element, string vr, uint length) => Header(group, element, vr, length);

        /// <summary>Encapsulated pixel data: an empty basic offset table, one fragment, the sequence delimiter.</summary>
        public void Encapsulated(ushort group, ushort element, byte[] fragment)
        {
            Header(group, element, "OB", 0xFFFFFFFF);
            Tag(0xFFFE, 0xE000); U32(0);
            var padded = fragment.Length % 2 == 0 ? fragment : [.. fragment, 0];
            Tag(0xFFFE, 0xE000); U32((uint)padded.Length);
            s.Write(padded);
            Tag(0xFFFE, 0xE0DD); U32(0);
        }

        /// <summary>A 12-bit gradient X-ray, 16 bits allocated: dark at the left, bright at the right.</summary>
        public static byte[] Gradient(int rows, int columns)
        {
            var pixels = new byte[rows * columns * 2];
            for (var y = 0; y < rows; y++)
                for (var x = 0; x < columns; x++)
                    BinaryPrimitives.WriteUInt16LittleEndian(pixels.AsSpan((y * columns + x) * 2), (ushort)(x * 4095 / Math.Max(1, columns - 1)));
            return pixels;
        }

        public void UndefinedSequence(ushort group, ushort element, (ushort G, ushort E, string Vr, byte[] Value)[] itemElements)
        {
            Header(group, element, "SQ", 0xFFFFFFFF);
            Tag(0xFFFE, 0xE000); U32(0xFFFFFFFF);
            foreach (var (g, e, vr, value) in itemElements) Element(g, e, vr, value);
            Tag(0xFFFE, 0xE00D); U32(0);
            Tag(0xFFFE, 0xE0DD); U32(0);
        }

        private void Header(ushort group, ushort element, string vr, uint length)
        {
            Tag(group, element);
            if (!explicitVr) { U32(length); return; }
            s.Write(Encoding.ASCII.GetBytes(vr));
            if (LongVrs.Contains(vr)) { s.Write([0, 0]); U32(length); }
            else { var b = new byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)length); s.Write(b); }
        }

        private void Tag(ushort group, ushort element)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt16LittleEndian(b, group);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), element);
            s.Write(b);
        }

        private void U32(uint v)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, v);
            s.Write(b);
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

    // ---------------------------------------------------------------- rasters

    /// <summary>
    /// A baseline JPEG stream with real marker structure (SOI, APP0, DQT, SOF0, DHT, SOS, scan bytes,
    /// EOI). The entropy-coded data is filler: nothing here decodes pixels.
    /// </summary>
    public static byte[] Jpeg(int width, int height, int components, int scanBytes = 4096)
    {
        var s = new MemoryStream();
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
        var random = new Random(width * 31 + height);
        var scan = new byte[scanBytes];
        random.NextBytes(scan);
        for (var i = 0; i < scan.Length; i++) if (scan[i] == 0xFF) scan[i] = 0xFE;
        s.Write(scan);
        s.Write([0xFF, 0xD9]);
        return s.ToArray();
    }

    /// <summary>A grayscale panoramic X-ray as exported by imaging software: 2000x1000, one component.</summary>
    public static byte[] PanoramicJpeg() => Jpeg(2000, 1000, 1, 64 * 1024);

    /// <summary>A colour intraoral photo: 1600x1200, three components.</summary>
    public static byte[] IntraoralPhotoJpeg() => Jpeg(1600, 1200, 3, 96 * 1024);

    /// <summary>A valid PNG (zlib-compressed blank rows). Colour type 2 = RGB, 0 = gray.</summary>
    public static byte[] Png(int width, int height, byte colourType = 2)
    {
        var channels = colourType switch { 0 => 1, 2 => 3, 4 => 2, 6 => 4, _ => 1 };
        var s = new MemoryStream();
        s.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), (uint)height);
        ihdr[8] = 8;
        ihdr[9] = colourType;
        Chunk(s, "IHDR", ihdr);
        var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
        {
            var row = new byte[1 + width * channels];
            for (var y = 0; y < height; y++)
            {
                for (var x = 1; x < row.Length; x++) row[x] = (byte)((x * 7 + y * 13) % 251);
                z.Write(row);
            }
        }
        Chunk(s, "IDAT", raw.ToArray());
        Chunk(s, "IEND", []);
        return s.ToArray();
    }

    /// <summary>A small colour logo, as pasted into an email signature: 120x40 PNG, a few KB.</summary>
    public static byte[] SignatureLogoPng() => Png(120, 40);

    private static void Chunk(Stream s, string type, byte[] data)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(header, (uint)data.Length);
        Encoding.ASCII.GetBytes(type, header.AsSpan(4));
        s.Write(header);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32([.. header.AsSpan(4), .. data]));
        s.Write(crc);
    }

    private static uint Crc32(byte[] data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>An uncompressed 16-bit grayscale TIFF (BlackIsZero), in either byte order.</summary>
    public static byte[] Tiff16(int width = 512, int height = 400, bool bigEndian = false)
    {
        var pixels = width * height * 2;
        const int entries = 9;
        var ifdOffset = 8;
        var dataOffset = ifdOffset + 2 + entries * 12 + 4;
        var b = new byte[dataOffset + pixels];
        void U16(int at, int v) { if (bigEndian) BinaryPrimitives.WriteUInt16BigEndian(b.AsSpan(at), (ushort)v); else BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), (ushort)v); }
        void U32(int at, long v) { if (bigEndian) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(at), (uint)v); else BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), (uint)v); }
        if (bigEndian) { b[0] = (byte)'M'; b[1] = (byte)'M'; } else { b[0] = (byte)'I'; b[1] = (byte)'I'; }
        U16(2, 42);
        U32(4, ifdOffset);
        U16(ifdOffset, entries);
        var at = ifdOffset + 2;
        void Entry(int tag, int type, long value)
        {
            U16(at, tag); U16(at + 2, type); U32(at + 4, 1);
            if (type == 3) U16(at + 8, (int)value); else U32(at + 8, value);
            at += 12;
        }
        Entry(256, 4, width);       // ImageWidth
        Entry(257, 4, height);      // ImageLength
        Entry(258, 3, 16);          // BitsPerSample
        Entry(259, 3, 1);           // Compression: none
        Entry(262, 3, 1);           // Photometric: BlackIsZero
        Entry(273, 4, dataOffset);  // StripOffsets
        Entry(277, 3, 1);           // SamplesPerPixel
        Entry(278, 4, height);      // RowsPerStrip
        Entry(279, 4, pixels);      // StripByteCounts
        U32(at, 0);
        for (var i = dataOffset; i < b.Length; i++) b[i] = (byte)(i * 37);
        return b;
    }

    // ---------------------------------------------------------------- 3D scans

    public static byte[] StlBinary(int triangles = 200)
    {
        var b = new byte[84 + 50 * triangles];
        Encoding.ASCII.GetBytes("synthetic lower arch scan", b);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(80), (uint)triangles);
        var random = new Random(7);
        for (var t = 0; t < triangles; t++)
            for (var f = 0; f < 12; f++)
                BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(84 + t * 50 + f * 4), (float)random.NextDouble());
        return b;
    }

    public static byte[] StlAscii() => Encoding.ASCII.GetBytes(
        "solid upper_arch\n" +
        string.Concat(Enumerable.Range(0, 20).Select(i =>
            $" facet normal 0 0 1\n  outer loop\n   vertex {i} 0 0\n   vertex {i + 1} 0 0\n   vertex {i} 1 0\n  endloop\n endfacet\n")) +
        "endsolid upper_arch\n");

    // ---------------------------------------------------------------- containers

    public static byte[] Zip(params (string Name, byte[] Content)[] entries) => ZipWith(CompressionLevel.Optimal, entries);

    public static byte[] ZipWith(CompressionLevel level, params (string Name, byte[] Content)[] entries)
    {
        var s = new MemoryStream();
        using (var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, content) in entries)
            {
                using var e = zip.CreateEntry(name, level).Open();
                e.Write(content);
            }
        }
        return s.ToArray();
    }

    public static byte[] ZipOfXrays() => Zip(("bitewing-left.dcm", Dicom()), ("panoramic.jpg", PanoramicJpeg()));

    /// <summary>One entry of zeros whose uncompressed size is about 1000 times its compressed size.</summary>
    public static byte[] ZipBomb(int uncompressedBytes = 16 << 20) => Zip(("payload.bin", new byte[uncompressedBytes]));

    public static byte[] ZipWithManyEntries(int count = 10_000)
    {
        var s = new MemoryStream();
        using (var zip = new ZipArchive(s, ZipArchiveMode.Create, leaveOpen: true))
        {
            for (var i = 0; i < count; i++) zip.CreateEntry($"f{i}.txt", CompressionLevel.NoCompression);
        }
        return s.ToArray();
    }

    /// <summary>
    /// Outlook's winmail.dat carrying one file, written attribute by attribute (MimeKit 4.18 has a
    /// TNEF reader but no writer): signature, key, TNEF version, OEM code page, message class, then
    /// per attachment attAttachRendData, attAttachTitle, attAttachData. Checksums are real.
    /// </summary>
    public static byte[] Tnef(params (string Name, byte[] Content)[] attachments) => Tnef(null, attachments);

    /// <summary>As <see cref="Tnef(ValueTuple{string, byte[]}[])"/>, with the message's text in attBody, as Outlook writes it in rich-text mode.</summary>
    public static byte[] Tnef(string? body, params (string Name, byte[] Content)[] attachments)
    {
        var s = new MemoryStream();
        s.Write(BitConverter.GetBytes(0x223E9F78u));
        s.Write(BitConverter.GetBytes((ushort)0x1234));
        TnefAttribute(s, TnefAttributeLevel.Message, TnefAttributeTag.TnefVersion, BitConverter.GetBytes(0x00010000u));
        TnefAttribute(s, TnefAttributeLevel.Message, TnefAttributeTag.OemCodepage, [.. BitConverter.GetBytes(1252u), .. BitConverter.GetBytes(0u)]);
        TnefAttribute(s, TnefAttributeLevel.Message, TnefAttributeTag.MessageClass, Encoding.ASCII.GetBytes("IPM.Microsoft Mail.Note\0"));
        if (body is not null) TnefAttribute(s, TnefAttributeLevel.Message, TnefAttributeTag.Body, Encoding.ASCII.GetBytes(body + "\0"));
        foreach (var (name, content) in attachments)
        {
            // RENDDATA: atyp=file, position unknown, no size hints, no flags.
            var rend = new byte[14];
            BinaryPrimitives.WriteUInt16LittleEndian(rend, 1);
            BinaryPrimitives.WriteUInt32LittleEndian(rend.AsSpan(2), 0xFFFFFFFF);
            TnefAttribute(s, TnefAttributeLevel.Attachment, TnefAttributeTag.AttachRenderData, rend);
            TnefAttribute(s, TnefAttributeLevel.Attachment, TnefAttributeTag.AttachTitle, Encoding.ASCII.GetBytes(name + "\0"));
            TnefAttribute(s, TnefAttributeLevel.Attachment, TnefAttributeTag.AttachData, content);
        }
        return s.ToArray();
    }

    /// <param name="goodChecksum">False writes a checksum one off, as a damaged file would carry.</param>
    internal static void TnefAttribute(Stream s, TnefAttributeLevel level, TnefAttributeTag tag, byte[] data, bool goodChecksum = true)
    {
        s.WriteByte((byte)level);
        s.Write(BitConverter.GetBytes((uint)tag));
        s.Write(BitConverter.GetBytes((uint)data.Length));
        s.Write(data);
        ushort checksum = 0;
        foreach (var b in data) checksum += b;
        s.Write(BitConverter.GetBytes(goodChecksum ? checksum : (ushort)(checksum + 1)));
    }

    // ---------------------------------------------------------------- messages

    public static MimeMessage Message(string subject = "Referral for TEST^PATIENT", string? text = "Please see attached.", string? html = null)
    {
        var message = new MimeMessage();
        message.From.Add(new MailboxAddress("Front Desk", "frontdesk@practice.example"));
        message.To.Add(new MailboxAddress("Dr Lab", "doctor@lab.example"));
        message.Subject = subject;
        message.Date = new DateTimeOffset(2024, 1, 2, 9, 30, 0, TimeSpan.Zero);
        message.MessageId = "synthetic-" + Guid.NewGuid().ToString("N")[..8] + "@practice.example";
        var builder = new BodyBuilder { TextBody = text, HtmlBody = html };
        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>A message with the given attachments (name, content, MIME type).</summary>
    public static MimeMessage WithAttachments(params (string Name, byte[] Content, string MimeType)[] attachments)
    {
        var builder = new BodyBuilder { TextBody = "Please see attached." };
        foreach (var (name, content, type) in attachments) builder.Attachments.Add(name, content, ContentType.Parse(type));
        var message = Message();
        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>An HTML message with one image pasted inline (multipart/related, referenced by cid).</summary>
    public static MimeMessage WithInlineImage(byte[] image, string name, string mimeType)
    {
        var builder = new BodyBuilder();
        var resource = builder.LinkedResources.Add(name, image, ContentType.Parse(mimeType));
        resource.ContentId = MimeKit.Utils.MimeUtils.GenerateMessageId("practice.example");
        builder.HtmlBody = $"<p>See below.</p><img src=\"cid:{resource.ContentId}\"><p>-- <br>Front Desk</p>";
        builder.TextBody = "See below.";
        var message = Message();
        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>A forwarded message (message/rfc822 attachment) that itself carries an X-ray.</summary>
    public static MimeMessage Forwarding(MimeMessage inner)
    {
        var builder = new BodyBuilder { TextBody = "FYI, forwarding." };
        builder.Attachments.Add(new MessagePart { Message = inner });
        var message = Message("Fwd: " + inner.Subject);
        message.Body = builder.ToMessageBody();
        return message;
    }

    /// <summary>A message whose body is multipart nested <paramref name="depth"/> levels deep, written as raw MIME.</summary>
    public static byte[] DeeplyNested(int depth)
    {
        var sb = new StringBuilder();
        sb.Append("From: frontdesk@practice.example\r\nTo: doctor@lab.example\r\nSubject: nested\r\nMIME-Version: 1.0\r\n");
        for (var i = 0; i < depth; i++)
            sb.Append($"Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n");
        sb.Append("Content-Type: text/plain\r\n\r\ndeep\r\n");
        for (var i = depth - 1; i >= 0; i--) sb.Append($"--b{i}--\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    public static byte[] ToBytes(this MimeMessage message)
    {
        using var s = new MemoryStream();
        message.WriteTo(s);
        return s.ToArray();
    }

    private static byte[] BigEndian16(int v) => [(byte)(v >> 8), (byte)v];
}
