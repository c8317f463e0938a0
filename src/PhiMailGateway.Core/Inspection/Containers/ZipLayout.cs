using System.Buffers.Binary;

namespace PhiMailGateway.Inspection.Containers;

/// <summary>
/// Checks that a zip means the same to every reader. The zip walker (like most readers) trusts
/// the central directory; streaming readers trust the local headers. Bytes that no listed entry
/// covers (a local entry the directory leaves out, data before the first entry or between
/// entries), entries that overlap, local headers that disagree with the directory, and binary
/// data in the archive comment are read differently by different tools: they fail closed.
/// </summary>
internal static class ZipLayout
{
    private const uint LocalSignature = 0x04034B50;
    private const uint CentralSignature = 0x02014B50;
    private const uint EndSignature = 0x06054B50;
    private const uint DescriptorSignature = 0x08074B50;

    private readonly record struct Entry(long LocalOffset, long CompressedSize, uint Crc, ushort Flags, ushort Method, byte[] Name, bool Zip64);

    /// <summary>Why the layout is ambiguous, or null when every byte belongs to a listed entry or to the directory.</summary>
    public static string? FindAmbiguity(Stream file, int maxEntries)
    {
        try
        {
            return Check(file, maxEntries);
        }
        catch (Exception e) when (e is IOException or ArgumentException or OverflowException)
        {
            // Offsets and lengths point outside the file: a reader that trusts them reads something else.
            return $"zip layout could not be read ({e.GetType().Name})";
        }
    }

    private static string? Check(Stream file, int maxEntries)
    {
        var length = file.Length;
        var tailLength = (int)Math.Min(length, 22 + ushort.MaxValue + 20);
        var tail = new byte[tailLength];
        file.Position = length - tailLength;
        file.ReadExactly(tail);
        var eocd = -1;
        for (var i = tailLength - 22; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) == EndSignature) { eocd = i; break; }
        }
        if (eocd < 0) return "zip without an end-of-central-directory record";
        var eocdOffset = length - tailLength + eocd;
        var commentLength = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(eocd + 20));
        if (eocd + 22 + commentLength != tailLength) return "zip with data after its end record";
        if (!ContentSniffer.LooksLikeText(tail.AsSpan(eocd + 22, commentLength))) return "zip comment holds binary data";

        long count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(eocd + 10));
        long directorySize = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd + 12));
        long directoryOffset = BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd + 16));
        var directoryEnd = eocdOffset;
        if (count == 0xFFFF || directorySize == 0xFFFFFFFF || directoryOffset == 0xFFFFFFFF)
        {
            if (eocd < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(eocd - 20)) != 0x07064B50) return "zip64 end record missing";
            var recordOffset = (long)BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(eocd - 12));
            if (recordOffset < 0 || recordOffset > length - 56) return "zip64 end record out of range";
            var record = ReadAt(file, recordOffset, 56);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != 0x06064B50) return "zip64 end record missing";
            count = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32)), long.MaxValue);
            directorySize = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(40)), long.MaxValue);
            directoryOffset = (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(48)), long.MaxValue);
            directoryEnd = recordOffset;
        }
        if (count > maxEntries) return null; // the walker refuses it by count already
        if (directoryOffset < 0 || directoryOffset + directorySize > directoryEnd || directoryOffset + directorySize < directoryEnd && directoryEnd == eocdOffset)
            return "zip central directory does not end where its end record begins";

        var directory = ReadAt(file, directoryOffset, (int)Math.Min(directorySize, int.MaxValue));
        var entries = new List<Entry>();
        var p = 0;
        for (var n = 0; n < count; n++)
        {
            if (p + 46 > directory.Length || BinaryPrimitives.ReadUInt32LittleEndian(directory.AsSpan(p)) != CentralSignature) return "zip central directory is damaged";
            var d = directory.AsSpan(p);
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(d[28..]);
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(d[30..]);
            var entryCommentLength = BinaryPrimitives.ReadUInt16LittleEndian(d[32..]);
            if (p + 46 + nameLength + extraLength + entryCommentLength > directory.Length) return "zip central directory is damaged";
            long compressed = BinaryPrimitives.ReadUInt32LittleEndian(d[20..]);
            long uncompressed = BinaryPrimitives.ReadUInt32LittleEndian(d[24..]);
            long offset = BinaryPrimitives.ReadUInt32LittleEndian(d[42..]);
            var zip64 = false;
            if (compressed == 0xFFFFFFFF || uncompressed == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            {
                zip64 = true;
                if (Zip64Extra(d.Slice(46 + nameLength, extraLength)) is not { } extra) return "zip64 entry without its extra field";
                var e = 0;
                if (uncompressed == 0xFFFFFFFF) { if (e + 8 > extra.Length) return "zip64 extra field too short"; e += 8; }
                if (compressed == 0xFFFFFFFF) { if (e + 8 > extra.Length) return "zip64 extra field too short"; compressed = (long)BinaryPrimitives.ReadUInt64LittleEndian(extra.AsSpan(e)); e += 8; }
                if (offset == 0xFFFFFFFF) { if (e + 8 > extra.Length) return "zip64 extra field too short"; offset = (long)BinaryPrimitives.ReadUInt64LittleEndian(extra.AsSpan(e)); }
            }
            entries.Add(new Entry(offset, compressed, BinaryPrimitives.ReadUInt32LittleEndian(d[16..]), BinaryPrimitives.ReadUInt16LittleEndian(d[8..]),
                BinaryPrimitives.ReadUInt16LittleEndian(d[10..]), d.Slice(46, nameLength).ToArray(), zip64));
            p += 46 + nameLength + extraLength + entryCommentLength;
        }

        // Walk the entries in file order: each must start where the previous one ended.
        long expected = 0;
        foreach (var entry in entries.OrderBy(e => e.LocalOffset))
        {
            if (entry.LocalOffset != expected)
                return entry.LocalOffset > expected ? "zip holds data that no listed entry covers" : "zip entries overlap";
            if (entry.LocalOffset + 30 > directoryOffset) return "zip local header out of range";
            var local = ReadAt(file, entry.LocalOffset, 30);
            if (BinaryPrimitives.ReadUInt32LittleEndian(local) != LocalSignature) return "zip local header missing";
            var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(26));
            var extraLength = BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(28));
            var name = ReadAt(file, entry.LocalOffset + 30, nameLength);
            if (!name.AsSpan().SequenceEqual(entry.Name) || BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(8)) != entry.Method)
                return "zip local header disagrees with the central directory";
            var localFlags = BinaryPrimitives.ReadUInt16LittleEndian(local.AsSpan(6));
            var streamed = (localFlags & 8) != 0;
            if (!streamed)
            {
                long localCompressed = BinaryPrimitives.ReadUInt32LittleEndian(local.AsSpan(18));
                if (localCompressed != entry.CompressedSize && localCompressed != 0xFFFFFFFF || BinaryPrimitives.ReadUInt32LittleEndian(local.AsSpan(14)) != entry.Crc)
                    return "zip local header disagrees with the central directory";
            }
            var end = entry.LocalOffset + 30 + nameLength + extraLength + entry.CompressedSize;
            if (streamed)
            {
                if (end + 12 > directoryOffset) return "zip data descriptor missing";
                var descriptor = ReadAt(file, end, (int)Math.Min(24, directoryOffset - end));
                var at = BinaryPrimitives.ReadUInt32LittleEndian(descriptor) == DescriptorSignature ? 4 : 0;
                if (at + 12 > descriptor.Length || BinaryPrimitives.ReadUInt32LittleEndian(descriptor.AsSpan(at)) != entry.Crc) return "zip data descriptor disagrees with the central directory";
                end += at + 4 + (entry.Zip64 || HasZip64Extra(file, entry.LocalOffset + 30 + nameLength, extraLength) ? 16 : 8);
            }
            expected = end;
        }
        return expected == directoryOffset ? null : expected < directoryOffset ? "zip holds data that no listed entry covers" : "zip entries overlap its central directory";
    }

    private static byte[]? Zip64Extra(ReadOnlySpan<byte> extra)
    {
        for (var i = 0; i + 4 <= extra.Length;)
        {
            var id = BinaryPrimitives.ReadUInt16LittleEndian(extra[i..]);
            var size = BinaryPrimitives.ReadUInt16LittleEndian(extra[(i + 2)..]);
            if (i + 4 + size > extra.Length) return null;
            if (id == 1) return extra.Slice(i + 4, size).ToArray();
            i += 4 + size;
        }
        return null;
    }

    private static bool HasZip64Extra(Stream file, long offset, int length) => length > 0 && Zip64Extra(ReadAt(file, offset, length)) is not null;

    private static byte[] ReadAt(Stream file, long offset, int count)
    {
        var buffer = new byte[count];
        file.Position = offset;
        file.ReadExactly(buffer);
        return buffer;
    }
}
