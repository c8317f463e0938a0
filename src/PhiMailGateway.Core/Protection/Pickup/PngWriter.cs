using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using PhiMailGateway.Inspection.Containers;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// The smallest PNG writer the DICOM preview needs: 8 bits per sample, scanlines the caller has
/// already prefixed with their filter byte, one IDAT compressed with .NET's zlib. No imaging
/// library for one picture format the browser reads natively.
/// </summary>
internal static class PngWriter
{
    public const byte Grayscale = 0;
    public const byte Rgb = 2;

    /// <summary>An 8-bit PNG of <paramref name="raster"/>: <paramref name="height"/> scanlines, each its filter byte (0) and its samples.</summary>
    public static byte[] Write(byte[] raster, int width, int height, byte colourType)
    {
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;
        header[9] = colourType;
        Chunk(png, "IHDR", header);
        using (var compressed = new MemoryStream())
        {
            using (var zlib = new ZLibStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
                zlib.Write(raster);
            Chunk(png, "IDAT", compressed.ToArray());
        }
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        Span<byte> number = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(number, data.Length);
        png.Write(number);
        var typeBytes = Encoding.ASCII.GetBytes(type);
        png.Write(typeBytes);
        png.Write(data);
        var crc = Crc32.Finish(Crc32.Append(Crc32.Append(Crc32.Seed, typeBytes), data));
        BinaryPrimitives.WriteUInt32BigEndian(number, crc);
        png.Write(number);
    }
}
