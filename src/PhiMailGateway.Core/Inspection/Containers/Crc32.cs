namespace PhiMailGateway.Inspection.Containers;

/// <summary>CRC-32 (IEEE 802.3, as gzip's trailer holds it), to check that a gzip member ends where the file ends.</summary>
internal static class Crc32
{
    public const uint Seed = 0xFFFFFFFFu;

    private static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
    {
        var c = (uint)n;
        for (var k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        return c;
    }).ToArray();

    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (var b in data) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    public static uint Finish(uint crc) => ~crc;
}
