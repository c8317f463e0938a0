using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>A picture the browser can show: its bytes and their type.</summary>
public sealed record PreviewImage(byte[] Content, string ContentType);

/// <summary>
/// A preview of a DICOM X-ray for the pickup page, rendered on the server, because no browser opens
/// DICOM and a patient usually has no viewer. Two encodings cover what dental sensors and practice
/// software write: uncompressed pixels (implicit or explicit VR little endian; 8 or 16 bits;
/// MONOCHROME1/2 or RGB), drawn as a grayscale or colour PNG with the file's window/level (or the
/// pixel range when it has none), and JPEG baseline (1.2.840.10008.1.2.4.50), whose first frame
/// already is a JPEG the browser decodes. Anything else (JPEG 2000, lossless, big endian, several
/// frames of a CT series) gets no preview, never a wrong picture. The file is parsed with bounds on
/// every length: a hostile file yields no preview, not an exception.
/// </summary>
public static class DicomPreview
{
    public const string ImplicitLittleEndian = "1.2.840.10008.1.2";
    public const string ExplicitLittleEndian = "1.2.840.10008.1.2.1";
    public const string JpegBaseline = "1.2.840.10008.1.2.4.50";

    /// <summary>Larger files are not previewed (they are read whole into memory for it).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>The preview's longer side at most; larger images are sampled down.</summary>
    public const int MaxSide = 1024;

    private static readonly HashSet<string> LongVrs = ["OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"];

    /// <summary>Whether <paramref name="prefix"/> (the first bytes of the file, up to its pixel data) describes an image this class renders.</summary>
    public static bool CanRender(ReadOnlySpan<byte> prefix) => Parse(prefix, headerOnly: true) is { } image && image.Supported;

    /// <summary>The preview, or null when the file is not one this class renders.</summary>
    public static PreviewImage? TryRender(ReadOnlySpan<byte> file)
    {
        if (Parse(file, headerOnly: false) is not { Supported: true } image) return null;
        try
        {
            return image.TransferSyntax == JpegBaseline ? Jpeg(image) : Png(image);
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException or InvalidDataException)
        {
            return null;
        }
    }

    private sealed class Image
    {
        public string TransferSyntax = ImplicitLittleEndian;
        public int Rows, Columns, Samples = 1, BitsAllocated, BitsStored, PixelRepresentation, Planar, Frames = 1;
        public string Photometric = "MONOCHROME2";
        public double? WindowCenter, WindowWidth;
        public double Slope = 1, Intercept;
        public bool HasPixels;
        public uint PixelLength;
        public byte[]? Native;
        public List<byte[]> Fragments = [];

        public bool Supported =>
            HasPixels && Rows > 0 && Columns > 0 && Rows <= 16384 && Columns <= 16384 && Frames == 1
            && TransferSyntax switch
            {
                ImplicitLittleEndian or ExplicitLittleEndian =>
                    PixelLength != uint.MaxValue && PixelLength >= (long)Rows * Columns * Samples * (BitsAllocated / 8) &&
                    BitsAllocated is 8 or 16 && (Samples == 1 && Photometric is "MONOCHROME1" or "MONOCHROME2" || Samples == 3 && Photometric == "RGB" && BitsAllocated == 8),
                JpegBaseline => BitsAllocated == 8,
                _ => false,
            };
    }

    private static Image? Parse(ReadOnlySpan<byte> data, bool headerOnly)
    {
        try
        {
            if (data.Length < 132 || !data.Slice(128, 4).SequenceEqual("DICM"u8)) return null;
            var image = new Image();
            var at = 132;
            // File meta information: always explicit VR little endian.
            while (at + 8 <= data.Length && BinaryPrimitives.ReadUInt16LittleEndian(data[at..]) == 0x0002)
            {
                if (!ReadElement(data, ref at, explicitVr: true, out var tag, out var value, out _)) return null;
                if (tag == 0x00020010) image.TransferSyntax = Text(value);
            }
            var explicitVr = image.TransferSyntax != ImplicitLittleEndian;
            return Walk(data, ref at, explicitVr, image, headerOnly, depth: 0) ? image : null;
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or OverflowException or FormatException)
        {
            return null;
        }
    }

    /// <summary>The top-level dataset: the image attributes, then the pixel data (native, or encapsulated fragments).</summary>
    private static bool Walk(ReadOnlySpan<byte> data, ref int at, bool explicitVr, Image image, bool headerOnly, int depth)
    {
        while (at + 8 <= data.Length)
        {
            var tag = Tag(data, at);
            if (tag == 0x7FE00010)
            {
                image.HasPixels = true;
                image.PixelLength = PeekLength(data, at, explicitVr);
                if (headerOnly) return true;
                return ReadPixels(data, ref at, explicitVr, image);
            }
            if (!ReadElement(data, ref at, explicitVr, out _, out var value, out var undefined)) return headerOnly;
            if (undefined && !SkipUndefined(data, ref at, explicitVr, depth + 1)) return false;
            switch (tag)
            {
                case 0x00280002: image.Samples = U16(value); break;
                case 0x00280004: image.Photometric = Text(value); break;
                case 0x00280006: image.Planar = U16(value); break;
                case 0x00280008: image.Frames = int.TryParse(Text(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var f) ? f : 1; break;
                case 0x00280010: image.Rows = U16(value); break;
                case 0x00280011: image.Columns = U16(value); break;
                case 0x00280100: image.BitsAllocated = U16(value); break;
                case 0x00280101: image.BitsStored = U16(value); break;
                case 0x00280103: image.PixelRepresentation = U16(value); break;
                case 0x00281050: image.WindowCenter = Number(value); break;
                case 0x00281051: image.WindowWidth = Number(value); break;
                case 0x00281052: image.Intercept = Number(value) ?? 0; break;
                case 0x00281053: image.Slope = Number(value) ?? 1; break;
            }
        }
        return headerOnly;
    }

    private static bool ReadPixels(ReadOnlySpan<byte> data, ref int at, bool explicitVr, Image image)
    {
        if (!ReadElement(data, ref at, explicitVr, out _, out var value, out var undefined)) return false;
        if (!undefined)
        {
            image.Native = value.ToArray();
            return true;
        }
        // Encapsulated: items of fragments, the first being the basic offset table; then the delimiter.
        var first = true;
        while (at + 8 <= data.Length)
        {
            var tag = Tag(data, at);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
            at += 8;
            if (tag == 0xFFFEE0DD) return true;
            if (tag != 0xFFFEE000 || length > data.Length - at) return false;
            if (!first) image.Fragments.Add(data.Slice(at, (int)length).ToArray());
            first = false;
            at += (int)length;
        }
        return false;
    }

    /// <summary>Skips the content of an undefined-length sequence (items, nested sequences) up to its delimiter.</summary>
    private static bool SkipUndefined(ReadOnlySpan<byte> data, ref int at, bool explicitVr, int depth)
    {
        if (depth > 16) return false;
        while (at + 8 <= data.Length)
        {
            var tag = Tag(data, at);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
            if (tag is 0xFFFEE0DD or 0xFFFEE00D)
            {
                at += 8;
                return true;
            }
            if (tag == 0xFFFEE000)
            {
                at += 8;
                if (length == uint.MaxValue)
                {
                    if (!SkipUndefined(data, ref at, explicitVr, depth + 1)) return false;
                }
                else
                {
                    if (length > data.Length - at) return false;
                    at += (int)length;
                }
                continue;
            }
            if (!ReadElement(data, ref at, explicitVr, out _, out _, out var undefined)) return false;
            if (undefined && !SkipUndefined(data, ref at, explicitVr, depth + 1)) return false;
        }
        return false;
    }

    /// <summary>One element's header and (defined-length) value; <paramref name="undefined"/> when its length is undefined (its content follows).</summary>
    private static bool ReadElement(ReadOnlySpan<byte> data, ref int at, bool explicitVr, out uint tag, out ReadOnlySpan<byte> value, out bool undefined)
    {
        value = default;
        undefined = false;
        tag = Tag(data, at);
        uint length;
        if (explicitVr)
        {
            var vr = Encoding.ASCII.GetString(data.Slice(at + 4, 2));
            if (LongVrs.Contains(vr))
            {
                if (at + 12 > data.Length) return false;
                length = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 8)..]);
                at += 12;
            }
            else
            {
                length = BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 6)..]);
                at += 8;
            }
        }
        else
        {
            length = BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
            at += 8;
        }
        if (length == uint.MaxValue)
        {
            undefined = true;
            return true;
        }
        if (length > data.Length - at) return false;
        value = data.Slice(at, (int)length);
        at += (int)length;
        return true;
    }

    /// <summary>The declared length of the element at <paramref name="at"/> (uint.MaxValue: undefined), without reading its value.</summary>
    private static uint PeekLength(ReadOnlySpan<byte> data, int at, bool explicitVr)
    {
        if (!explicitVr) return BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 4)..]);
        var vr = Encoding.ASCII.GetString(data.Slice(at + 4, 2));
        if (!LongVrs.Contains(vr)) return BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 6)..]);
        return at + 12 <= data.Length ? BinaryPrimitives.ReadUInt32LittleEndian(data[(at + 8)..]) : 0;
    }

    private static uint Tag(ReadOnlySpan<byte> data, int at) =>
        ((uint)BinaryPrimitives.ReadUInt16LittleEndian(data[at..]) << 16) | BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 2)..]);

    private static int U16(ReadOnlySpan<byte> value) => value.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(value) : 0;

    private static string Text(ReadOnlySpan<byte> value) => Encoding.ASCII.GetString(value).TrimEnd('\0', ' ').Trim();

    /// <summary>The first value of a decimal string (window values may be multi-valued: "40\400").</summary>
    private static double? Number(ReadOnlySpan<byte> value) =>
        double.TryParse(Text(value).Split('\\')[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;

    // ------------------------------------------------------------------ rendering

    private static PreviewImage? Jpeg(Image image)
    {
        if (image.Fragments.Count == 0) return null;
        var jpeg = image.Fragments.SelectMany(f => f).ToArray();
        // The transfer syntax promises baseline JPEG; a fragment that does not even start like one gets no preview.
        if (jpeg.Length < 4 || jpeg[0] != 0xFF || jpeg[1] != 0xD8) return null;
        return new PreviewImage(jpeg, "image/jpeg");
    }

    private static PreviewImage? Png(Image image)
    {
        var pixels = image.Native;
        var bytesPerSample = image.BitsAllocated / 8;
        long needed = (long)image.Rows * image.Columns * image.Samples * bytesPerSample;
        if (pixels is null || pixels.Length < needed) return null;
        var step = Math.Max(1, (Math.Max(image.Rows, image.Columns) + MaxSide - 1) / MaxSide);
        var width = (image.Columns + step - 1) / step;
        var height = (image.Rows + step - 1) / step;
        var channels = image.Samples == 3 ? 3 : 1;
        var raster = new byte[height * (1 + width * channels)];

        if (channels == 3)
        {
            for (int y = 0, o = 0; y < height; y++)
            {
                raster[o++] = 0; // filter: none
                for (var x = 0; x < width; x++)
                {
                    var p = (long)(y * step) * image.Columns + x * step;
                    for (var c = 0; c < 3; c++)
                        raster[o++] = image.Planar == 1 ? pixels[c * (long)image.Rows * image.Columns + p] : pixels[p * 3 + c];
                }
            }
            return new PreviewImage(PngWriter.Write(raster, width, height, PngWriter.Rgb), "image/png");
        }

        double Value(long index)
        {
            int raw = bytesPerSample == 1 ? pixels[index] : BinaryPrimitives.ReadUInt16LittleEndian(pixels.AsSpan((int)(index * 2)));
            var stored = image.BitsStored is > 0 and < 16 ? image.BitsStored : image.BitsAllocated;
            raw &= (1 << stored) - 1;
            if (image.PixelRepresentation == 1 && (raw & (1 << (stored - 1))) != 0) raw -= 1 << stored;
            return raw * image.Slope + image.Intercept;
        }

        var samples = new double[width * height];
        double min = double.MaxValue, max = double.MinValue;
        for (int y = 0, i = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++, i++)
            {
                var v = Value((long)(y * step) * image.Columns + x * step);
                samples[i] = v;
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        // Window/level as the file gives it; otherwise the range the pixels actually use.
        double low, high;
        if (image.WindowCenter is { } centre && image.WindowWidth is { } w && w >= 1)
        {
            low = centre - 0.5 - (w - 1) / 2;
            high = centre - 0.5 + (w - 1) / 2;
        }
        else
        {
            low = min;
            high = max;
        }
        var span = Math.Max(high - low, 1e-9);
        var invert = image.Photometric == "MONOCHROME1";
        for (int y = 0, i = 0, o = 0; y < height; y++)
        {
            raster[o++] = 0;
            for (var x = 0; x < width; x++, i++)
            {
                var level = (int)Math.Round(Math.Clamp((samples[i] - low) / span, 0, 1) * 255);
                raster[o++] = (byte)(invert ? 255 - level : level);
            }
        }
        return new PreviewImage(PngWriter.Write(raster, width, height, PngWriter.Grayscale), "image/png");
    }
}
