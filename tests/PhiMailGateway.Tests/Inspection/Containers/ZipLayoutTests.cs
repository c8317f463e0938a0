using System.Buffers.Binary;
using System.Text;
using PhiMailGateway.Inspection.Containers;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.Containers;

/// <summary>
/// Zip layouts that different readers read differently must be named as ambiguous (the part then
/// fails closed); layouts every reader agrees on must pass. Zips are written byte by byte so each
/// test changes exactly one field from a layout that passes.
/// </summary>
public class ZipLayoutTests
{
    private static readonly byte[] Hello = "hello"u8.ToArray();

    private static string? Ambiguity(byte[] zip, int maxEntries = 100) => ZipLayout.FindAmbiguity(new MemoryStream(zip), maxEntries);

    /// <summary>One stored entry "notes.txt" holding "hello", listed once, with the given changes.</summary>
    private static byte[] OneEntry(Action<RawZip>? afterLocal = null, Action<RawZip.CentralRecord>? central = null, Action<RawZip.LocalRecord>? local = null, byte[]? comment = null)
    {
        var zip = new RawZip();
        var l = new RawZip.LocalRecord("notes.txt", Hello);
        local?.Invoke(l);
        var offset = zip.Local(l);
        afterLocal?.Invoke(zip);
        var c = new RawZip.CentralRecord("notes.txt", offset, l.Crc, (uint)Hello.Length, (uint)Hello.Length);
        central?.Invoke(c);
        zip.Central(c);
        return zip.Finish(comment);
    }

    [Test]
    public void FindAmbiguity_ZipsWrittenByOrdinaryWriters_NoAmbiguity()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(DentalCorpus.ZipOfXrays()), Is.Null, "a deflated zip from ZipArchive");
            Assert.That(Ambiguity(ContainerFixtures.StreamedZip(("a.txt", Hello), ("b.txt", "bye"u8.ToArray()))), Is.Null, "streamed entries with data descriptors");
            Assert.That(Ambiguity(OneEntry()), Is.Null, "the hand-written baseline every other test changes");
            Assert.That(Ambiguity(OneEntry(comment: "made by hand"u8.ToArray())), Is.Null, "a text comment");
        });
    }

    [Test]
    public void FindAmbiguity_EmptyZip_NoAmbiguity() =>
        Assert.That(Ambiguity(new RawZip().Finish()), Is.Null, "an end record alone lists nothing and hides nothing");

    [Test]
    public void FindAmbiguity_NoEndRecord_Named()
    {
        var zip = OneEntry();
        Assert.That(Ambiguity(zip[..^22]), Is.EqualTo("zip without an end-of-central-directory record"));
    }

    [Test]
    public void FindAmbiguity_BytesBeforeAnEmptyDirectory_Named() =>
        Assert.That(Ambiguity([.. "junk"u8, .. new RawZip().Finish()]), Is.EqualTo("zip central directory does not end where its end record begins"));

    [Test]
    public void FindAmbiguity_EndSignatureInsideEntryData_TheLastEndRecordCounts()
    {
        // Stored data may hold the end record's signature; the search from the end must stop at the first it meets.
        var zip = new RawZip();
        var l = new RawZip.LocalRecord("notes.txt", [.. Le32(0x06054B50), .. new byte[18]]);
        var offset = zip.Local(l);
        zip.Central(new RawZip.CentralRecord("notes.txt", offset, l.Crc, 22, 22));
        Assert.That(Ambiguity(zip.Finish()), Is.Null);
    }

    [Test]
    public void FindAmbiguity_Zip64WithTheLongestComment_LocatorStillFound()
    {
        // The tail read must hold the end record, a 65535-byte comment and the 20-byte zip64 locator before them.
        var bytes = OneEntryZip64End();
        var comment = Enumerable.Repeat((byte)'c', ushort.MaxValue).ToArray();
        bytes[^2] = 0xFF;
        bytes[^1] = 0xFF;
        Assert.That(Ambiguity([.. bytes, .. comment]), Is.Null);
    }

    [Test]
    public void FindAmbiguity_BytesAfterTheEndRecord_Named() =>
        Assert.That(Ambiguity([.. OneEntry(), .. "tail"u8]), Is.EqualTo("zip with data after its end record"));

    [Test]
    public void FindAmbiguity_CommentLongerThanWhatFollows_Named()
    {
        var zip = OneEntry(comment: "abc"u8.ToArray());
        zip[^5] = 4; // comment length 4, 3 bytes follow
        Assert.That(Ambiguity(zip), Is.EqualTo("zip with data after its end record"));
    }

    [Test]
    public void FindAmbiguity_BinaryComment_Named() =>
        Assert.That(Ambiguity(OneEntry(comment: [0xFF, 0xD8, 0xFF, 0x00, 0x01])), Is.EqualTo("zip comment holds binary data"));

    [Test]
    public void FindAmbiguity_MoreEntriesThanTheWalkerAllows_LeftToTheWalkersCountCheck()
    {
        var zip = OneEntry(afterLocal: z => z.Raw("hidden"u8.ToArray()));
        Assert.That(Ambiguity(zip, maxEntries: 1), Is.EqualTo("zip holds data that no listed entry covers"), "at the limit the layout is still checked");
        Assert.That(Ambiguity(zip, maxEntries: 0), Is.Null, "past the limit the walker refuses the archive by count");
    }

    [Test]
    public void FindAmbiguity_DirectoryRunningIntoTheEndRecord_Named()
    {
        var zip = OneEntry();
        Patch32(zip, zip.Length - 22 + 12, 47); // the directory is 46 + 9 = 55 bytes
        Assert.That(Ambiguity(zip), Is.EqualTo("zip central directory does not end where its end record begins"), "a directory that ends before its end record leaves bytes no one lists");
        Patch32(zip, zip.Length - 22 + 12, 56);
        Assert.That(Ambiguity(zip), Is.EqualTo("zip central directory does not end where its end record begins"), "a directory that runs into its end record");
    }

    [Test]
    public void FindAmbiguity_DirectorySizeExactlyToTheEndRecord_Accepted()
    {
        var zip = OneEntry();
        Assert.That(BinaryPrimitives.ReadUInt32LittleEndian(zip.AsSpan(zip.Length - 22 + 12)), Is.EqualTo(55u), "the baseline's directory is 46 + 9 bytes");
        Assert.That(Ambiguity(zip), Is.Null);
    }

    [Test]
    public void FindAmbiguity_DamagedCentralDirectory_Named()
    {
        Assert.Multiple(() =>
        {
            var twoCounted = OneEntry();
            zipCount(twoCounted, 2);
            Assert.That(Ambiguity(twoCounted), Is.EqualTo("zip central directory is damaged"), "the end record counts an entry the directory does not hold");

            var badSignature = OneEntry();
            badSignature[44] ^= 1; // the central record follows the 30 + 9 + 5 bytes of the local entry
            Assert.That(Ambiguity(badSignature), Is.EqualTo("zip central directory is damaged"), "a central record without its signature");

            Assert.That(Ambiguity(OneEntry(central: c => c.CommentLength = 1)), Is.EqualTo("zip central directory is damaged"), "an entry comment running past the directory");
            Assert.That(Ambiguity(OneEntry(central: c => c.ExtraLength = 1)), Is.EqualTo("zip central directory is damaged"), "an extra field running past the directory");
        });

        static void zipCount(byte[] zip, ushort count) => BinaryPrimitives.WriteUInt16LittleEndian(zip.AsSpan(zip.Length - 22 + 10), count);
    }

    [Test]
    public void FindAmbiguity_EntryCommentInsideTheDirectory_Accepted() =>
        Assert.That(Ambiguity(OneEntry(central: c => c.Comment = "x-ray notes"u8.ToArray())), Is.Null, "the comment is part of the directory record, and the next record starts after it");

    [Test]
    public void FindAmbiguity_TwoEntriesWithCommentsAndExtras_EachRecordFoundAfterThePrevious()
    {
        var zip = new RawZip();
        var a = new RawZip.LocalRecord("a.txt", Hello);
        var b = new RawZip.LocalRecord("b.txt", "bye"u8.ToArray());
        var ao = zip.Local(a);
        var bo = zip.Local(b);
        zip.Central(new RawZip.CentralRecord("a.txt", ao, a.Crc, 5, 5) { Comment = "one"u8.ToArray(), Extra = Extra(0x5455, [1, 2, 3, 4, 5]) });
        zip.Central(new RawZip.CentralRecord("b.txt", bo, b.Crc, 3, 3) { Comment = "two"u8.ToArray() });
        Assert.That(Ambiguity(zip.Finish()), Is.Null);
    }

    [Test]
    public void FindAmbiguity_TwoListingsOfOneEntry_Overlap()
    {
        var zip = new RawZip();
        var a = new RawZip.LocalRecord("a.txt", Hello);
        var ao = zip.Local(a);
        zip.Central(new RawZip.CentralRecord("a.txt", ao, a.Crc, 5, 5));
        zip.Central(new RawZip.CentralRecord("a.txt", ao, a.Crc, 5, 5));
        Assert.That(Ambiguity(zip.Finish()), Is.EqualTo("zip entries overlap"));
    }

    [Test]
    public void FindAmbiguity_DataBeforeTheFirstEntry_Named() =>
        Assert.That(Ambiguity(OneEntry(local: l => l.Prefix = "MZ junk"u8.ToArray())), Is.EqualTo("zip holds data that no listed entry covers"));

    [Test]
    public void FindAmbiguity_EntryListedInsideTheDirectory_OutOfRange()
    {
        // Only a directory and an end record; the one entry it lists starts where the directory does.
        var zip = new RawZip();
        zip.Central(new RawZip.CentralRecord("a.txt", 0, 1, 5, 5));
        var bytes = zip.Finish();
        Assert.That(Ambiguity(bytes), Is.EqualTo("zip local header out of range"));
    }

    [Test]
    public void FindAmbiguity_LocalHeaderEndingExactlyAtTheDirectory_ReadAsALocalHeader()
    {
        // A 30-byte local header with no name and no data directly before the directory: in range.
        var zip = new RawZip();
        var l = new RawZip.LocalRecord("", []);
        var offset = zip.Local(l);
        zip.Central(new RawZip.CentralRecord("", offset, l.Crc, 0, 0));
        Assert.That(Ambiguity(zip.Finish()), Is.Null);
    }

    [Test]
    public void FindAmbiguity_LocalHeaderWithoutItsSignature_Named() =>
        Assert.That(Ambiguity(OneEntry(local: l => l.Signature = 0x04034B51)), Is.EqualTo("zip local header missing"));

    [Test]
    public void FindAmbiguity_LocalHeaderDisagreeingWithTheDirectory_Named()
    {
        const string disagrees = "zip local header disagrees with the central directory";
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(OneEntry(local: l => l.LocalName = "pano.jpg")), Is.EqualTo(disagrees), "another name (same length is not needed)");
            Assert.That(Ambiguity(OneEntry(local: l => l.LocalName = "notes.txu")), Is.EqualTo(disagrees), "another name of the same length");
            Assert.That(Ambiguity(OneEntry(local: l => l.Method = 8)), Is.EqualTo(disagrees), "another compression method");
            Assert.That(Ambiguity(OneEntry(central: c => c.Crc ^= 1)), Is.EqualTo(disagrees), "another CRC");
            Assert.That(Ambiguity(OneEntry(local: l => l.CompressedSize = 4)), Is.EqualTo(disagrees), "another compressed size");
        });
    }

    [Test]
    public void FindAmbiguity_LocalSizeDeferredToZip64_Accepted() =>
        Assert.That(Ambiguity(OneEntry(local: l => l.CompressedSize = 0xFFFFFFFF)), Is.Null, "0xFFFFFFFF in the local header means the size is in its zip64 extra field");

    [Test]
    public void FindAmbiguity_LocalExtraField_CountedInTheEntry() =>
        Assert.That(Ambiguity(OneEntry(local: l => l.Extra = Extra(0x5455, [1, 2, 3, 4, 5]))), Is.Null, "the data starts after the local name and extra field");

    [Test]
    public void FindAmbiguity_EntryRunningIntoTheDirectory_Overlap() =>
        Assert.That(Ambiguity(OneEntry(local: l => l.CompressedSize = 6, central: c => c.CompressedSize = 6)), Is.EqualTo("zip entries overlap its central directory"));

    [Test]
    public void FindAmbiguity_BytesBetweenTheLastEntryAndTheDirectory_Named() =>
        Assert.That(Ambiguity(OneEntry(afterLocal: z => z.Raw("hidden"u8.ToArray()))), Is.EqualTo("zip holds data that no listed entry covers"));

    // ------------------------------------------------------------------ streamed entries (bit 3, data descriptor)

    private static byte[] Streamed(byte[]? descriptor, Action<RawZip.LocalRecord>? local = null, Action<RawZip.CentralRecord>? central = null) =>
        OneEntry(
            local: l =>
            {
                l.Flags = 8;
                l.StoredCrc = 0;
                l.CompressedSize = 0;
                local?.Invoke(l);
            },
            afterLocal: z => { if (descriptor is not null) z.Raw(descriptor); },
            central: central);

    private static uint HelloCrc => new RawZip.LocalRecord("notes.txt", Hello).Crc;

    [Test]
    public void FindAmbiguity_StreamedEntryWithDescriptor_Accepted()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le32(5), .. Le32(5)])), Is.Null, "with the descriptor's signature");
            Assert.That(Ambiguity(Streamed([.. Le32(HelloCrc), .. Le32(5), .. Le32(5)])), Is.Null, "without it (allowed by the format)");
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le64(5), .. Le64(5)], central: c => c.Zip64Offset = true)), Is.Null, "zip64 sizes in the descriptor of a zip64 entry");
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le64(5), .. Le64(5)], local: l => l.Extra = Extra(1, new byte[16]))), Is.Null, "zip64 sizes when only the local header carries the zip64 extra field");
        });
    }

    [Test]
    public void FindAmbiguity_StreamedEntryWithADescriptorOfTheWrongSize_Named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le32(5), .. Le32(5), 0, 0, 0, 0])), Is.EqualTo("zip holds data that no listed entry covers"), "four bytes more than a 32-bit descriptor");
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le32(5), .. Le32(5)], local: l => l.Extra = Extra(0x5455, new byte[16]))), Is.Null, "an extra field that is not zip64 keeps 32-bit sizes");
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le32(5), .. Le32(5)], local: l => l.Extra = Extra(1, new byte[16]))), Is.EqualTo("zip entries overlap its central directory"), "a zip64 local entry has 64-bit sizes in its descriptor");
        });
    }

    [Test]
    public void FindAmbiguity_StreamedEntryWithoutRoomForItsDescriptor_Named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(Streamed(null)), Is.EqualTo("zip data descriptor missing"));
            Assert.That(Ambiguity(Streamed([.. Le32(HelloCrc), .. Le32(5), 0, 0, 0])), Is.EqualTo("zip data descriptor missing"), "11 bytes where 12 are needed");
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc), .. Le32(5)])), Is.EqualTo("zip data descriptor disagrees with the central directory"), "a signature and 8 bytes: no room for the sizes");
        });
    }

    [Test]
    public void FindAmbiguity_StreamedEntryWhoseDescriptorDisagrees_Named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(Streamed([.. Le32(0x08074B50), .. Le32(HelloCrc ^ 1), .. Le32(5), .. Le32(5)])), Is.EqualTo("zip data descriptor disagrees with the central directory"));
            Assert.That(Ambiguity(Streamed([.. Le32(HelloCrc ^ 1), .. Le32(5), .. Le32(5)])), Is.EqualTo("zip data descriptor disagrees with the central directory"), "without the signature");
        });
    }

    [Test]
    public void FindAmbiguity_StreamedEntry_LocalSizeAndCrcNotCompared() =>
        Assert.That(Ambiguity(Streamed([.. Le32(HelloCrc), .. Le32(5), .. Le32(5)], local: l => { l.StoredCrc = 7; l.CompressedSize = 99; })), Is.Null, "a streamed entry's local CRC and sizes are placeholders");

    // ------------------------------------------------------------------ zip64

    [Test]
    public void FindAmbiguity_Zip64Entries_OffsetAndSizeReadFromTheExtraField()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(OneEntry(central: c => c.Zip64Offset = true)), Is.Null, "offset in the extra field");
            Assert.That(Ambiguity(OneEntry(central: c => c.Zip64Compressed = true)), Is.Null, "compressed size in the extra field");
            Assert.That(Ambiguity(OneEntry(central: c => c.Zip64Uncompressed = true)), Is.Null, "uncompressed size in the extra field");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Uncompressed = true; c.Zip64Compressed = true; c.Zip64Offset = true; })), Is.Null, "all three, in the format's order");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.ExtraBefore = Extra(0x5455, [1, 2, 3, 4, 5]); })), Is.Null, "after another extra field");
        });
    }

    [Test]
    public void FindAmbiguity_Zip64ExtraFieldPointingElsewhere_Named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Offset = 7; })), Is.EqualTo("zip holds data that no listed entry covers"), "the extra field's offset is used, not the 32-bit one");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Compressed = true; c.CompressedSize = 4; })), Is.EqualTo("zip local header disagrees with the central directory"), "the extra field's size is used");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Uncompressed = true; c.Zip64Compressed = true; c.CompressedSize = 4; })), Is.EqualTo("zip local header disagrees with the central directory"), "the compressed size follows the uncompressed one");
        });
    }

    [Test]
    public void FindAmbiguity_Zip64EntryWithoutUsableExtraField_Named()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Extra = []; })), Is.EqualTo("zip64 entry without its extra field"), "no extra field");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Extra = Extra(0x5455, new byte[8]); })), Is.EqualTo("zip64 entry without its extra field"), "only another extra field");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Extra = [1, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0]; })), Is.EqualTo("zip64 entry without its extra field"), "a field whose size runs past the extra data");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Extra = Extra(1, []); })), Is.EqualTo("zip64 extra field too short"), "an empty zip64 field that fills the extra data exactly");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Offset = true; c.Extra = [1, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]; })), Is.EqualTo("zip64 extra field too short"), "7 bytes for an 8-byte offset");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Compressed = true; c.Extra = Extra(1, new byte[7]); })), Is.EqualTo("zip64 extra field too short"), "7 bytes for an 8-byte size");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Uncompressed = true; c.Extra = Extra(1, new byte[7]); })), Is.EqualTo("zip64 extra field too short"), "7 bytes for an 8-byte uncompressed size");
            Assert.That(Ambiguity(OneEntry(central: c => { c.Zip64Uncompressed = true; c.Zip64Offset = true; c.Extra = Extra(1, new byte[8]); })), Is.EqualTo("zip64 extra field too short"), "room for one of two values");
        });
    }

    [Test]
    public void FindAmbiguity_Zip64EndRecord_CountSizeAndOffsetReadFromIt()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Ambiguity(OneEntryZip64End()), Is.Null, "a zip64 end record and locator");
            Assert.That(Ambiguity(OneEntryZip64End(count: 2)), Is.EqualTo("zip central directory is damaged"), "the zip64 record's count is used");
            Assert.That(Ambiguity(OneEntryZip64End(size: 54)), Is.EqualTo("zip central directory is damaged"), "the zip64 record's size is used");
            Assert.That(Ambiguity(OneEntryZip64End(size: 56)), Is.EqualTo("zip central directory does not end where its end record begins"), "a directory running into the zip64 record");
            Assert.That(Ambiguity(OneEntryZip64End(gap: 3)), Is.Null, "bytes between the directory and the zip64 record are read by no reader (allowed)");
            Assert.That(Ambiguity(OneEntryZip64End(offset: 43)), Is.EqualTo("zip central directory is damaged"), "the zip64 record's offset is used");
        });
    }

    [Test]
    public void FindAmbiguity_EmptyZip64ArchiveWithItsRecordAtOffsetZero_Accepted()
    {
        // The smallest zip64 archive: no entries, so its zip64 end record starts the file.
        byte[] record = [.. Le32(0x06064B50), .. Le64(44), 45, 0, 45, 0, .. Le32(0), .. Le32(0), .. Le64(0), .. Le64(0), .. Le64(0), .. Le64(0)];
        byte[] locator = [.. Le32(0x07064B50), .. Le32(0), .. Le64(0), .. Le32(1)];
        byte[] end = [.. Le32(0x06054B50), 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, .. Le32(0xFFFFFFFF), .. Le32(0xFFFFFFFF), 0, 0];
        Assert.That(record, Has.Length.EqualTo(56));
        Assert.That(Ambiguity([.. record, .. locator, .. end]), Is.Null, "offset 0 is inside the file: an empty zip64 archive is not damaged");
    }

    [Test]
    public void FindAmbiguity_Zip64MarkerWithoutItsRecord_Named()
    {
        Assert.Multiple(() =>
        {
            var noLocator = OneEntry();
            BinaryPrimitives.WriteUInt16LittleEndian(noLocator.AsSpan(noLocator.Length - 22 + 10), 0xFFFF);
            Assert.That(Ambiguity(noLocator), Is.EqualTo("zip64 end record missing"), "a count of 0xFFFF and no locator");

            var size = OneEntry();
            Patch32(size, size.Length - 22 + 12, 0xFFFFFFFF);
            Assert.That(Ambiguity(size), Is.EqualTo("zip64 end record missing"), "a size of 0xFFFFFFFF");

            var offset = OneEntry();
            Patch32(offset, offset.Length - 22 + 16, 0xFFFFFFFF);
            Assert.That(Ambiguity(offset), Is.EqualTo("zip64 end record missing"), "an offset of 0xFFFFFFFF");

            var shortFile = new RawZip().Finish();
            BinaryPrimitives.WriteUInt16LittleEndian(shortFile.AsSpan(10), 0xFFFF);
            Assert.That(Ambiguity(shortFile), Is.EqualTo("zip64 end record missing"), "no room for a locator before the end record");

            Assert.That(Ambiguity([.. Le32(0x07064B50), 0, 0, 0, 0, .. Le64(0), 1, 0, 0, 0, .. Le32(0x06054B50), 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, .. Le32(0), .. Le32(0), 0, 0]),
                Is.EqualTo("zip64 end record out of range"), "a locator in the first 20 bytes is read");

            var badRecord = OneEntryZip64End();
            badRecord[^(22 + 20 + 56)] ^= 1;
            Assert.That(Ambiguity(badRecord), Is.EqualTo("zip64 end record missing"), "the locator points at something else");

            var badLocator = OneEntryZip64End();
            badLocator[^(22 + 20)] ^= 1;
            Assert.That(Ambiguity(badLocator), Is.EqualTo("zip64 end record missing"), "the locator's signature is wrong");

            var outside = OneEntryZip64End();
            Patch64(outside, outside.Length - 22 - 12, (ulong)outside.Length);
            Assert.That(Ambiguity(outside), Is.EqualTo("zip64 end record out of range"), "the locator points past the file");

            var lastByte = OneEntryZip64End();
            Patch64(lastByte, lastByte.Length - 22 - 12, (ulong)(lastByte.Length - 55));
            Assert.That(Ambiguity(lastByte), Is.EqualTo("zip64 end record out of range"), "a 56-byte record cannot start 55 bytes before the end");

            var negative = OneEntryZip64End();
            Patch64(negative, negative.Length - 22 - 12, ulong.MaxValue);
            Assert.That(Ambiguity(negative), Is.EqualTo("zip64 end record out of range"), "an offset that is negative as a signed number");
        });
    }

    [Test]
    public void FindAmbiguity_OffsetsOutsideTheFile_NamedNotThrown()
    {
        var zip = OneEntry();
        zip[26] = 0xFF; // local name length runs past the file
        zip[27] = 0xFF;
        Assert.That(Ambiguity(zip), Does.StartWith("zip layout could not be read ("));
    }

    private static byte[] OneEntryZip64End(ulong? count = null, ulong? size = null, ulong? offset = null, int gap = 0)
    {
        var zip = new RawZip();
        var l = new RawZip.LocalRecord("notes.txt", Hello);
        var o = zip.Local(l);
        zip.Central(new RawZip.CentralRecord("notes.txt", o, l.Crc, 5, 5));
        return zip.FinishZip64(count, size, offset, gap);
    }

    private static byte[] Extra(ushort id, byte[] data) => [.. Le16(id), .. Le16((ushort)data.Length), .. data];

    private static byte[] Le16(ushort v) => [(byte)v, (byte)(v >> 8)];

    private static byte[] Le32(uint v) => [(byte)v, (byte)(v >> 8), (byte)(v >> 16), (byte)(v >> 24)];

    private static byte[] Le64(ulong v) => [.. Le32((uint)v), .. Le32((uint)(v >> 32))];

    private static void Patch32(byte[] zip, int at, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(zip.AsSpan(at), value);

    private static void Patch64(byte[] zip, int at, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(zip.AsSpan(at), value);

    /// <summary>Writes local entries, raw bytes and central records in the order called; no writer's rules applied.</summary>
    private sealed class RawZip
    {
        private readonly MemoryStream _file = new();
        private readonly MemoryStream _central = new();
        private int _count;

        public sealed class LocalRecord(string name, byte[] data)
        {
            public byte[] Prefix { get; set; } = [];
            public uint Signature { get; set; } = 0x04034B50;
            public string LocalName { get; set; } = name;
            public byte[] Data { get; } = data;
            public ushort Flags { get; set; }
            public ushort Method { get; set; }
            public uint Crc { get; set; } = (uint)name.Length * 0x01000193u ^ (uint)data.Length * 0x9E3779B9u ^ 0x5A5A5A5Au;
            public uint? StoredCrc { get; set; }
            public uint CompressedSize { get; set; } = (uint)data.Length;
            public byte[] Extra { get; set; } = [];
        }

        public sealed class CentralRecord(string name, long offset, uint crc, uint compressed, uint uncompressed)
        {
            public string Name { get; } = name;
            public long Offset { get; set; } = offset;
            public uint Crc { get; set; } = crc;
            public uint CompressedSize { get; set; } = compressed;
            public uint UncompressedSize { get; set; } = uncompressed;
            public ushort Method { get; set; }
            public byte[]? Extra { get; set; }
            public byte[] ExtraBefore { get; set; } = [];
            public byte[] Comment { get; set; } = [];
            public int? ExtraLength { get; set; }
            public int? CommentLength { get; set; }
            public bool Zip64Uncompressed { get; set; }
            public bool Zip64Compressed { get; set; }
            public bool Zip64Offset { get; set; }
        }

        /// <summary>Writes the entry and returns the offset of its local header (after any prefix).</summary>
        public long Local(LocalRecord r)
        {
            _file.Write(r.Prefix);
            var offset = _file.Position;
            var name = Encoding.ASCII.GetBytes(r.LocalName);
            _file.Write([.. Le32(r.Signature), 20, 0, .. Le16(r.Flags), .. Le16(r.Method), 0, 0, 0, 0, .. Le32(r.StoredCrc ?? r.Crc),
                .. Le32(r.CompressedSize), .. Le32((uint)r.Data.Length), .. Le16((ushort)name.Length), .. Le16((ushort)r.Extra.Length)]);
            _file.Write(name);
            _file.Write(r.Extra);
            _file.Write(r.Data);
            return offset;
        }

        public void Raw(byte[] bytes) => _file.Write(bytes);

        public void Central(CentralRecord r)
        {
            var name = Encoding.ASCII.GetBytes(r.Name);
            byte[] zip64 = [
                .. r.Zip64Uncompressed ? Le64(r.UncompressedSize) : [],
                .. r.Zip64Compressed ? Le64(r.CompressedSize) : [],
                .. r.Zip64Offset ? Le64((ulong)r.Offset) : []];
            var extra = r.Extra ?? [.. r.ExtraBefore, .. zip64.Length > 0 ? ZipLayoutTests.Extra(1, zip64) : []];
            _central.Write([.. Le32(0x02014B50), 20, 0, 20, 0, 0, 0, .. Le16(r.Method), 0, 0, 0, 0, .. Le32(r.Crc),
                .. Le32(r.Zip64Compressed ? 0xFFFFFFFF : r.CompressedSize), .. Le32(r.Zip64Uncompressed ? 0xFFFFFFFF : r.UncompressedSize),
                .. Le16((ushort)name.Length), .. Le16((ushort)(r.ExtraLength ?? extra.Length)), .. Le16((ushort)(r.CommentLength ?? r.Comment.Length)),
                0, 0, 0, 0, 0, 0, 0, 0, .. Le32(r.Zip64Offset ? 0xFFFFFFFF : (uint)r.Offset)]);
            _central.Write(name);
            if (r.ExtraLength is null) _central.Write(extra);
            if (r.CommentLength is null) _central.Write(r.Comment);
            _count++;
        }

        public byte[] Finish(byte[]? comment = null)
        {
            comment ??= [];
            var directoryOffset = (uint)_file.Length;
            _file.Write(_central.ToArray());
            _file.Write([.. Le32(0x06054B50), 0, 0, 0, 0, .. Le16((ushort)_count), .. Le16((ushort)_count),
                .. Le32((uint)_central.Length), .. Le32(directoryOffset), .. Le16((ushort)comment.Length)]);
            _file.Write(comment);
            return _file.ToArray();
        }

        /// <summary>A zip64 end record and locator before an end record whose count, size and offset all say "see zip64".</summary>
        public byte[] FinishZip64(ulong? count, ulong? size, ulong? offset, int gap)
        {
            var directoryOffset = (ulong)_file.Length;
            _file.Write(_central.ToArray());
            _file.Write(new byte[gap]);
            var recordOffset = (ulong)_file.Length;
            _file.Write([.. Le32(0x06064B50), .. Le64(44), 45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                .. Le64(count ?? (ulong)_count), .. Le64(count ?? (ulong)_count), .. Le64(size ?? (ulong)_central.Length), .. Le64(offset ?? directoryOffset)]);
            _file.Write([.. Le32(0x07064B50), 0, 0, 0, 0, .. Le64(recordOffset), 1, 0, 0, 0]);
            _file.Write([.. Le32(0x06054B50), 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, .. Le32(0xFFFFFFFF), .. Le32(0xFFFFFFFF), 0, 0]);
            return _file.ToArray();
        }
    }
}
