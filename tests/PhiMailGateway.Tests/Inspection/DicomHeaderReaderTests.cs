using System.Buffers.Binary;
using System.Text;
using PhiMailGateway.Inspection;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection;

public class DicomHeaderReaderTests
{
    [TestCase(true, true)]
    [TestCase(false, true)]
    [TestCase(true, false)]
    [TestCase(false, false)]
    public void DicomHeaderReader_SyntheticFile_ReadsAuditTags(bool explicitVr, bool preamble)
    {
        var header = DicomHeaderReader.Read(DentalCorpus.Dicom(explicitVr, preamble), moreDataFollows: false);
        Assert.That(header, Is.Not.Null, "recognised as DICOM");
        Assert.Multiple(() =>
        {
            Assert.That(header!.Complete, Is.True, header.IncompleteReason);
            Assert.That(header.HasPreamble, Is.EqualTo(preamble));
            Assert.That(header.Tags.PatientName, Is.EqualTo(DentalCorpus.PatientName));
            Assert.That(header.Tags.PatientId, Is.EqualTo(DentalCorpus.PatientId));
            Assert.That(header.Tags.PatientBirthDate, Is.EqualTo("19800101"));
            Assert.That(header.Tags.Modality, Is.EqualTo("IO"));
            Assert.That(header.Tags.StudyDate, Is.EqualTo("20240102"));
            Assert.That(header.Tags.BodyPartExamined, Is.EqualTo("JAW"));
            Assert.That(header.Tags.Rows, Is.EqualTo(1000));
            Assert.That(header.Tags.Columns, Is.EqualTo(1500));
        });
    }

    [Test]
    public void DicomHeaderReader_Truncated_IncompleteAndDamaged()
    {
        var full = DentalCorpus.Dicom();
        var header = DicomHeaderReader.Read(full.AsSpan(0, 300), moreDataFollows: false);
        Assert.That(header, Is.Not.Null);
        Assert.That(header!.Complete, Is.False);
        Assert.That(header.Damaged, Is.True);
    }

    [Test]
    public void DicomHeaderReader_FourGigabyteLength_StopsWithoutAllocating()
    {
        var header = DicomHeaderReader.Read(DentalCorpus.Dicom(hostileLength: true), moreDataFollows: false);
        Assert.That(header, Is.Not.Null);
        Assert.That(header!.Complete, Is.False);
        Assert.That(header.Damaged, Is.True);
        Assert.That(header.IncompleteReason, Does.Contain("runs past the end"));
    }

    [Test]
    public void DicomHeaderReader_BigEndianTransferSyntax_DicomWithoutTags()
    {
        var bytes = DentalCorpus.Dicom();
        var text = System.Text.Encoding.ASCII.GetString(bytes);
        var at = text.IndexOf("1.2.840.10008.1.2.1\0", StringComparison.Ordinal);
        System.Text.Encoding.ASCII.GetBytes("1.2.840.10008.1.2.2\0").CopyTo(bytes, at);
        var header = DicomHeaderReader.Read(bytes, moreDataFollows: false);
        Assert.That(header, Is.Not.Null);
        Assert.That(header!.Tags.PatientName, Is.Null);
        Assert.That(header.Damaged, Is.False, "a valid but unsupported encoding is not damage");
        Assert.That(header.IncompleteReason, Does.Contain("big-endian"));
    }

    [TestCase("Hello, this is plain text and not DICOM at all.")]
    [TestCase("")]
    public void DicomHeaderReader_NotDicom_ReturnsNull(string text) =>
        Assert.That(DicomHeaderReader.Read(System.Text.Encoding.ASCII.GetBytes(text), false), Is.Null);

    /// <summary>
    /// Random byte flips, length-field corruption and truncations of valid files (fixed seed): the
    /// reader must return (null or a header) and never throw or loop.
    /// </summary>
    [Test]
    public void DicomHeaderReader_Fuzzed_NeverThrows()
    {
        var random = new Random(20240102);
        var seeds = new[] { DentalCorpus.Dicom(), DentalCorpus.Dicom(explicitVr: false), DentalCorpus.Dicom(preamble: false), DentalCorpus.Dicom(false, false) };
        for (var i = 0; i < 5000; i++)
        {
            var bytes = (byte[])seeds[i % seeds.Length].Clone();
            var start = bytes.Length > 132 && i % 8 != 0 ? 132 : 0;
            switch (random.Next(4))
            {
                case 0:
                    for (var k = random.Next(1, 8); k > 0; k--) bytes[random.Next(start, bytes.Length)] = (byte)random.Next(256);
                    break;
                case 1:
                    var at = random.Next(start, bytes.Length - 4);
                    BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), random.Next(3) switch { 0 => 0xFFFFFFFF, 1 => 0xFFFFFFF0, _ => (uint)random.Next() });
                    break;
                case 2:
                    bytes = bytes[..random.Next(0, bytes.Length)];
                    break;
                default:
                    var at2 = random.Next(start, bytes.Length - 2);
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(at2), (ushort)random.Next(65536));
                    bytes = bytes[..random.Next(at2, bytes.Length)];
                    break;
            }
            var more = random.Next(2) == 0;
            Assert.DoesNotThrow(() => DicomHeaderReader.Read(bytes, more), $"iteration {i}");
            Assert.DoesNotThrow(() => ContentSniffer.Sniff(bytes, bytes.Length), $"iteration {i}");
        }
    }
}

/// <summary>
/// The reader's edges one element at a time: each case builds the smallest dataset that sits on
/// one boundary (a length that exactly fills the data, one byte too few, the nesting cap) and
/// asserts the verdict the classifier acts on: recognised or not, complete, damaged, the tags.
/// </summary>
public class DicomHeaderReaderBoundaryTests
{
    private static readonly HashSet<string> LongVrs = ["OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"];

    private static byte[] Tag(ushort group, ushort element)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt16LittleEndian(b, group);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(2), element);
        return b;
    }

    private static byte[] U32(uint value)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        return b;
    }

    private static byte[] U16(ushort value)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        return b;
    }

    /// <summary>An explicit VR little-endian element header, with the long form for the VRs that have one.</summary>
    private static byte[] Header(ushort group, ushort element, string vr, uint length) =>
        LongVrs.Contains(vr)
            ? [.. Tag(group, element), .. Encoding.ASCII.GetBytes(vr), 0, 0, .. U32(length)]
            : [.. Tag(group, element), .. Encoding.ASCII.GetBytes(vr), .. U16((ushort)length)];

    private static byte[] El(ushort group, ushort element, string vr, byte[] value) => [.. Header(group, element, vr, (uint)value.Length), .. value];

    private static byte[] Implicit(ushort group, ushort element, byte[] value) => [.. Tag(group, element), .. U32((uint)value.Length), .. value];

    private static byte[] Text(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>A Part 10 file: 128-byte preamble, "DICM", no meta group, then <paramref name="dataset"/> (explicit VR).</summary>
    private static byte[] Part10(params byte[][] dataset) => [.. new byte[128], .. "DICM"u8, .. dataset.SelectMany(d => d)];

    private static byte[] Modality(string value = "IO") => El(0x0008, 0x0060, "CS", Text(value));

    private static byte[] Item(uint length) => [.. Tag(0xFFFE, 0xE000), .. U32(length)];

    private static readonly byte[] ItemEnd = [.. Tag(0xFFFE, 0xE00D), .. U32(0)];

    private static readonly byte[] SequenceEnd = [.. Tag(0xFFFE, 0xE0DD), .. U32(0)];

    /// <summary><paramref name="depth"/> undefined-length sequences, each in an undefined-length item of the one around it.</summary>
    private static byte[] NestedSequences(int depth) =>
        depth == 0 ? [] : [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(0xFFFFFFFF), .. NestedSequences(depth - 1), .. ItemEnd, .. SequenceEnd];

    private static DicomHeader Read(byte[] data, bool more = false) =>
        DicomHeaderReader.Read(data, more) ?? throw new AssertionException("not recognised as DICOM");

    [Test]
    public void Read_PreambleAndMarkerAlone_DicomCompleteWithoutTags()
    {
        var header = Read(Part10());
        Assert.That((header.HasPreamble, header.Complete, header.Damaged, header.Tags.Modality), Is.EqualTo((true, true, false, (string?)null)));
        var cut = Read(Part10(), more: true);
        Assert.That((cut.Complete, cut.Damaged, cut.IncompleteReason), Is.EqualTo((false, false, "scan limit reached before the patient tags")),
            "at the scan limit the tags may still follow");
        Assert.That(DicomHeaderReader.LooksLikeDicom(Part10()), Is.True);
        Assert.That(DicomHeaderReader.Read(Part10().AsSpan(0, 131), false), Is.Null, "131 bytes cannot hold the marker");
    }

    [Test]
    public void Read_BitsAllocatedAndSamples_ReadThenStopsBeforeWhatFollows()
    {
        // Everything after (0028,0100) is never parsed: a bad VR there does not make the header damaged.
        var header = Read(Part10(El(0x0028, 0x0002, "US", U16(3)), El(0x0028, 0x0100, "US", U16(12)), [.. Tag(0x0028, 0x0101), (byte)'1', (byte)'2', 0, 0]));
        Assert.That((header.Tags.SamplesPerPixel, header.Tags.BitsAllocated, header.Complete, header.Damaged), Is.EqualTo(((int?)3, (int?)12, true, false)));
    }

    [Test]
    public void Read_PixelDataBeforeTheLastWantedTag_StopsComplete()
    {
        var header = Read(Part10(Modality(), [.. Header(0x7FE0, 0x0010, "OW", 0xFFFFFFF0)]));
        Assert.That((header.Tags.Modality, header.Complete, header.Damaged), Is.EqualTo(("IO", true, false)));
    }

    [Test]
    public void Read_ElementValueEndingExactlyAtTheEnd_Complete()
    {
        var header = Read(Part10(Modality("IOX")));
        Assert.That((header.Tags.Modality, header.Complete), Is.EqualTo(("IOX", true)));
        var empty = Read(Part10(Modality(), El(0x0010, 0x0010, "PN", [])));
        Assert.That((empty.Tags.PatientName, empty.Complete), Is.EqualTo(((string?)null, true)), "an empty last element is eight bytes and complete");
    }

    [Test]
    public void Read_ElementOneByteLongerThanTheData_DamagedOrCutAtTheScanLimit()
    {
        var data = Part10(Modality("IO"))[..^1];
        var header = Read(data);
        Assert.That((header.Complete, header.Damaged), Is.EqualTo((false, true)));
        Assert.That(header.IncompleteReason, Is.EqualTo("element (0008,0060) length 2 runs past the end of the data"));
        var cut = Read(data, more: true);
        Assert.That((cut.Complete, cut.Damaged, cut.IncompleteReason), Is.EqualTo((false, false, "scan limit reached inside an element")));
    }

    [Test]
    public void Read_LengthBeyondInt32AtTheScanLimit_StillDamaged()
    {
        var header = Read(Part10(Modality(), Header(0x0009, 0x1010, "OB", 0x80000000)), more: true);
        Assert.That((header.Complete, header.Damaged), Is.EqualTo((false, true)), "no real file is cut inside a 2 GiB element");
        var justBelow = Read(Part10(Modality(), Header(0x0009, 0x1010, "OB", int.MaxValue)), more: true);
        Assert.That((justBelow.Complete, justBelow.Damaged), Is.EqualTo((false, false)));
    }

    [TestCase(7)]
    [TestCase(1)]
    public void Read_FewerThanEightBytesOfTheNextElement_Truncated(int bytes)
    {
        var data = Part10(Modality(), El(0x0010, 0x0010, "PN", Text("TEST")))[..^(12 - bytes)];
        var header = Read(data);
        Assert.That((header.Tags.Modality, header.Complete, header.Damaged, header.IncompleteReason), Is.EqualTo(("IO", false, true, "truncated")));
        var cut = Read(data, more: true);
        Assert.That((cut.Damaged, cut.IncompleteReason), Is.EqualTo((false, "scan limit reached before the patient tags")));
    }

    [TestCase("@A")]
    [TestCase("[A")]
    [TestCase("A@")]
    [TestCase("A[")]
    public void Read_ValueRepresentationOutsideAToZ_Damaged(string vr)
    {
        var header = Read(Part10(Modality(), [.. Tag(0x0009, 0x0010), .. Encoding.ASCII.GetBytes(vr), 0, 0]));
        Assert.That((header.Tags.Modality, header.Damaged, header.IncompleteReason), Is.EqualTo(("IO", true, "invalid value representation")));
    }

    [TestCase("AZ")]
    [TestCase("ZA")]
    public void Read_UnknownValueRepresentationOfCapitals_ReadAsShortForm(string vr)
    {
        var header = Read(Part10(El(0x0009, 0x0010, vr, Text("ab")), Modality()));
        Assert.That((header.Tags.Modality, header.Complete), Is.EqualTo(("IO", true)));
    }

    [TestCase("OB")]
    [TestCase("OW")]
    [TestCase("OF")]
    [TestCase("SQ")]
    [TestCase("UT")]
    [TestCase("UN")]
    [TestCase("UC")]
    [TestCase("UR")]
    [TestCase("OD")]
    [TestCase("OL")]
    [TestCase("OV")]
    [TestCase("SV")]
    [TestCase("UV")]
    public void Read_LongFormValueRepresentation_LengthReadFromItsFourByteField(string vr)
    {
        // Read as the short form, the reserved zeroes would be the length and the 4-byte length the next tag.
        var header = Read(Part10(El(0x0009, 0x0010, vr, Text("ab!c")), Modality()));
        Assert.That((header.Tags.Modality, header.Complete, header.Damaged), Is.EqualTo(("IO", true, false)), vr);
    }

    [Test]
    public void Read_LongFormHeaderCutBeforeItsLength_Damaged()
    {
        var header = Read(Part10(Modality(), [.. Tag(0x0009, 0x0010), .. "OB"u8, 0, 0, 4, 0, 0]));
        Assert.That((header.Damaged, header.IncompleteReason), Is.EqualTo((true, "truncated element header")));
        var exact = Read(Part10(Modality(), Header(0x0009, 0x0010, "OB", 0)));
        Assert.That((exact.Complete, exact.Damaged), Is.EqualTo((true, false)), "a twelve-byte header with an empty value at the end");
    }

    [Test]
    public void Read_SequencesNestedSixteenDeep_ReadOnSeventeenDamaged()
    {
        var sixteen = Read(Part10([.. NestedSequences(16), .. El(0x0010, 0x0010, "PN", Text("TEST^PATIENT"))]));
        Assert.That((sixteen.Tags.PatientName, sixteen.Complete), Is.EqualTo(("TEST^PATIENT", true)));
        var seventeen = Read(Part10([.. NestedSequences(17), .. El(0x0010, 0x0010, "PN", Text("TEST^PATIENT"))]));
        Assert.That((seventeen.Tags.PatientName, seventeen.Damaged, seventeen.IncompleteReason), Is.EqualTo(((string?)null, true, "sequences nested too deeply")));
    }

    [Test]
    public void Read_SequenceWithDefinedLengthItems_SkipsThemToThePatientName()
    {
        byte[] sequence = [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(4), .. "abcd"u8, .. Item(0), .. SequenceEnd];
        var header = Read(Part10([.. sequence, .. El(0x0010, 0x0010, "PN", Text("TEST^PATIENT"))]));
        Assert.That((header.Tags.PatientName, header.Complete), Is.EqualTo(("TEST^PATIENT", true)));
        var exact = Read(Part10([.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(4), .. "abcd"u8]));
        Assert.That((exact.Damaged, exact.IncompleteReason), Is.EqualTo((true, "truncated")), "an item that ends with the data, no delimiter");
        var over = Read(Part10([.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(5), .. "abcd"u8]));
        Assert.That((over.Damaged, over.IncompleteReason), Is.EqualTo((true, "truncated")));
    }

    [Test]
    public void Read_SomethingOtherThanAnItemInASequence_Damaged()
    {
        var header = Read(Part10([.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Modality(), .. SequenceEnd]));
        Assert.That((header.Damaged, header.IncompleteReason), Is.EqualTo((true, "unexpected element inside a sequence")));
    }

    [Test]
    public void Read_ItemElementsOfAnUndefinedLengthItem_SkippedOrTruncated()
    {
        byte[] open = [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(0xFFFFFFFF)];
        var fine = Read(Part10([.. open, .. El(0x0008, 0x1150, "UI", Text("1.2")), .. ItemEnd, .. SequenceEnd, .. Modality()]));
        Assert.That((fine.Tags.Modality, fine.Complete), Is.EqualTo(("IO", true)));
        var badVr = Read(Part10([.. open, .. Tag(0x0008, 0x1150), (byte)'u', (byte)'i', 0, 0]));
        Assert.That((badVr.Damaged, badVr.IncompleteReason), Is.EqualTo((true, "invalid value representation")));
        var over = Read(Part10([.. open, .. El(0x0008, 0x1150, "UI", Text("1.2."))[..^1]]));
        Assert.That((over.Damaged, over.IncompleteReason), Is.EqualTo((true, "truncated")));
        var exact = Read(Part10([.. open, .. El(0x0008, 0x1150, "UI", Text("1.2."))]));
        Assert.That((exact.Damaged, exact.IncompleteReason), Is.EqualTo((true, "truncated")), "the element fits; the item delimiter is missing");
        var noEnd = Read(Part10([.. open, .. ItemEnd[..7]]));
        Assert.That((noEnd.Damaged, noEnd.IncompleteReason), Is.EqualTo((true, "truncated")));
    }

    [Test]
    public void Read_UnInsideAnExplicitItem_ItsSequenceReadAsImplicit()
    {
        // An undefined-length UN holds an implicit VR sequence, wherever it sits.
        byte[] un = [.. Header(0x0009, 0x1001, "UN", 0xFFFFFFFF), .. Item(0xFFFFFFFF), .. Implicit(0x0009, 0x1002, Text("ab")), .. ItemEnd, .. SequenceEnd];
        var top = Read(Part10([.. un, .. Modality()]));
        Assert.That((top.Tags.Modality, top.Complete, top.Damaged), Is.EqualTo(("IO", true, false)), "at the top level");
        byte[] nested = [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(0xFFFFFFFF), .. un, .. ItemEnd, .. SequenceEnd];
        var inner = Read(Part10([.. nested, .. Modality()]));
        Assert.That((inner.Tags.Modality, inner.Complete, inner.Damaged), Is.EqualTo(("IO", true, false)), "inside an item");
        byte[] sq = [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(0xFFFFFFFF), .. Header(0x0008, 0x1111, "SQ", 0xFFFFFFFF), .. Item(0xFFFFFFFF),
            .. El(0x0008, 0x1150, "UI", Text("1.2")), .. ItemEnd, .. SequenceEnd, .. ItemEnd, .. SequenceEnd];
        var explicitInner = Read(Part10([.. sq, .. Modality()]));
        Assert.That((explicitInner.Tags.Modality, explicitInner.Complete), Is.EqualTo(("IO", true)), "an SQ inside an item stays explicit");
    }

    [Test]
    public void Read_TransferSyntaxes_ImplicitDeflatedAndExplicit()
    {
        byte[] Meta(string uid) => El(0x0002, 0x0010, "UI", Text(uid + "\0"));
        var implicitFile = Read(Part10(Meta("1.2.840.10008.1.2"), Implicit(0x0008, 0x0060, Text("IO"))));
        Assert.That((implicitFile.TransferSyntaxUid, implicitFile.Tags.Modality, implicitFile.Complete), Is.EqualTo(("1.2.840.10008.1.2", "IO", true)));
        var deflated = Read(Part10(Meta("1.2.840.10008.1.2.1.99"), Modality()));
        Assert.That((deflated.Tags.Modality, deflated.Complete, deflated.Damaged, deflated.IncompleteReason),
            Is.EqualTo(((string?)null, false, false, "deflated transfer syntax: tags not read")));
        var other = Read(Part10(Meta("1.2.840.10008.1.2.4.50"), Modality()));
        Assert.That((other.Tags.Modality, other.Complete), Is.EqualTo(("IO", true)), "encapsulated pixel syntaxes keep an explicit dataset");
    }

    [Test]
    public void Read_RawDatasetWithMetaGroup_FollowsItsTransferSyntax()
    {
        byte[] meta = [.. El(0x0002, 0x0001, "OB", [0, 1]), .. El(0x0002, 0x0010, "UI", Text("1.2.840.10008.1.2\0"))];
        var header = Read([.. meta, .. Implicit(0x0008, 0x0060, Text("IO"))]);
        Assert.That((header.HasPreamble, header.Tags.Modality, header.Complete), Is.EqualTo((false, "IO", true)));
        // Without a transfer syntax a raw dataset keeps the VR form it was detected with.
        var bare = Read([.. El(0x0008, 0x0020, "DA", Text("20240102")), .. Modality()]);
        Assert.That((bare.Tags.StudyDate, bare.Tags.Modality, bare.Complete), Is.EqualTo(("20240102", "IO", true)));
    }

    [Test]
    public void Read_RawImplicitDataset_DetectedAndRead()
    {
        var header = Read([.. Implicit(0x0008, 0x0020, Text("20240102")), .. Implicit(0x0008, 0x0060, Text("IO")), .. Implicit(0x0010, 0x0010, Text("TEST^PATIENT"))]);
        Assert.That((header.HasPreamble, header.Tags.StudyDate, header.Tags.Modality, header.Tags.PatientName, header.Complete),
            Is.EqualTo((false, "20240102", "IO", "TEST^PATIENT", true)));
    }

    [Test]
    public void Read_RawDatasetThatDoesNotStartLikeOne_NotDicom()
    {
        byte[] study = El(0x0008, 0x0020, "DA", Text("20240102"));
        Assert.Multiple(() =>
        {
            Assert.That(DicomHeaderReader.Read([.. study, .. Modality()], false), Is.Not.Null, "two ascending group 0008 elements");
            Assert.That(DicomHeaderReader.Read([.. Modality(), .. study], false), Is.Null, "descending tags");
            Assert.That(DicomHeaderReader.Read([.. Modality(), .. Modality()], false), Is.Null, "the same tag twice");
            Assert.That(DicomHeaderReader.Read([.. El(0x0002, 0x0010, "UI", Text("1.2\0")), .. Modality()], false), Is.Null, "groups 0002 and 0008 mixed");
            Assert.That(DicomHeaderReader.Read([.. El(0x0010, 0x0010, "PN", Text("AB")), .. El(0x0010, 0x0020, "LO", Text("12"))], false), Is.Null, "group 0010 first");
            Assert.That(DicomHeaderReader.Read([.. El(0x0002, 0x0001, "OB", [0, 1]), .. El(0x0002, 0x0010, "UI", Text("1.2\0"))], false), Is.Not.Null, "group 0002");
            Assert.That(DicomHeaderReader.Read(study, false), Is.Null, "one element is not enough");
            Assert.That(DicomHeaderReader.Read([.. study, .. Modality()[..^1]], false), Is.Null, "the second element runs one byte past the data");
            Assert.That(DicomHeaderReader.Read([.. study, .. Modality()[..7]], false), Is.Null, "the second header is cut");
            Assert.That(DicomHeaderReader.Read([.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Modality()], false), Is.Null, "an undefined length first");
            Assert.That(DicomHeaderReader.LooksLikeDicom([.. study, .. Modality()]), Is.True);
            Assert.That(DicomHeaderReader.LooksLikeDicom(Text("plain text that is long enough")), Is.False);
        });
    }

    [Test]
    public void Read_RawElementOfAtMost1024Bytes_Detected()
    {
        byte[] Long(int n) => El(0x0008, 0x0001, "OB", new byte[n]);
        Assert.That(DicomHeaderReader.Read([.. Long(1024), .. Modality()], false), Is.Not.Null, "1024 bytes");
        Assert.That(DicomHeaderReader.Read([.. Long(1025), .. Modality()], false), Is.Null, "1025 bytes is no plausible first element");
    }

    [Test]
    public void Read_TextValues_TrimmedUtf8OrLatin1AndBounded()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Read(Part10(El(0x0010, 0x0010, "PN", Encoding.UTF8.GetBytes("M\u00FCller^TEST")))).Tags.PatientName, Is.EqualTo("M\u00FCller^TEST"), "UTF-8");
            Assert.That(Read(Part10(El(0x0010, 0x0010, "PN", Encoding.Latin1.GetBytes("M\u00FCller^TEST")))).Tags.PatientName, Is.EqualTo("M\u00FCller^TEST"), "Latin-1");
            Assert.That(Read(Part10(El(0x0010, 0x0010, "PN", Text(" TEST^PATIENT \0")))).Tags.PatientName, Is.EqualTo("TEST^PATIENT"), "padding trimmed");
            Assert.That(Read(Part10(El(0x0010, 0x0010, "PN", Text("  \0\0")))).Tags.PatientName, Is.Null, "only padding");
            var limit = new string('A', DicomHeaderReader.MaxValueBytes);
            Assert.That(Read(Part10(El(0x0010, 0x0020, "LO", Text(limit)))).Tags.PatientId, Is.EqualTo(limit), "1024 bytes are read");
            Assert.That(Read(Part10(El(0x0010, 0x0020, "LO", Text(limit + "AB")))).Tags.PatientId, Is.Null, "longer values are skipped");
        });
    }

    [Test]
    public void Read_EachWantedTag_ItsOwnField()
    {
        var header = Read(Part10(
            El(0x0008, 0x0020, "DA", Text("20240102")), Modality("PX"), El(0x0010, 0x0010, "PN", Text("TEST^PATIENT")), El(0x0010, 0x0020, "LO", Text("ID42")),
            El(0x0010, 0x0030, "DA", Text("19800101")), El(0x0018, 0x0015, "CS", Text("JAW")), El(0x0028, 0x0002, "US", U16(1)),
            El(0x0028, 0x0010, "US", U16(480)), El(0x0028, 0x0011, "US", U16(640)), El(0x0028, 0x0100, "US", U16(8))));
        var t = header.Tags;
        Assert.That((t.StudyDate, t.Modality, t.PatientName, t.PatientId, t.PatientBirthDate, t.BodyPartExamined),
            Is.EqualTo(("20240102", "PX", "TEST^PATIENT", "ID42", "19800101", "JAW")));
        Assert.That((t.SamplesPerPixel, t.Rows, t.Columns, t.BitsAllocated), Is.EqualTo(((int?)1, (int?)480, (int?)640, (int?)8)));
        var oneByte = Read(Part10(El(0x0028, 0x0010, "US", [7])));
        Assert.That(oneByte.Tags.Rows, Is.Null, "a one-byte US is no number");
    }
    // ------------------------------------------------------------------ survivors of the abd2075 run

    [Test]
    public void Read_RawDatasetWhoseSecondElementIsEmptyAndEndsTheData_Dicom()
    {
        var header = DicomHeaderReader.Read([.. El(0x0008, 0x0020, "DA", Text("20240102")), .. El(0x0008, 0x0060, "CS", [])], false);
        Assert.That(header, Is.Not.Null, "an eight-byte element at the very end still makes two");
    }

    [Test]
    public void Read_ElementWithALowercaseVr_NotARawDataset()
    {
        byte[] lower = [.. Tag(0x0008, 0x0020), (byte)'d', (byte)'a', 0, 0];
        Assert.That(DicomHeaderReader.Read([.. lower, .. Modality()], false), Is.Null, "an element whose header does not read is not skipped as eight bytes");
    }

    [Test]
    public void Read_RawDatasetWithAnImplicitMetaGroup_Damaged()
    {
        // The file meta group is always explicit VR; written implicit it does not read.
        var header = Read([.. Implicit(0x0002, 0x0001, [0, 1]), .. Implicit(0x0002, 0x0010, Text("1.2.840.10008.1.2\0")), .. Implicit(0x0008, 0x0060, Text("IO"))]);
        Assert.That((header.Damaged, header.IncompleteReason), Is.EqualTo((true, "invalid value representation")));
    }

    [Test]
    public void Read_ItemTagAtTheTopLevel_SkippedByItsLength()
    {
        var header = Read(Part10(Modality(), Item(2), [0, 0], El(0x0010, 0x0010, "PN", Text("TEST^PATIENT"))));
        Assert.That((header.Tags.PatientName, header.Complete), Is.EqualTo(("TEST^PATIENT", true)));
    }

    [Test]
    public void Read_SequenceDelimiterEndingTheData_Complete()
    {
        var header = Read(Part10(Modality(), [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF), .. Item(0), .. SequenceEnd]));
        Assert.That((header.Tags.Modality, header.Complete, header.Damaged), Is.EqualTo(("IO", true, false)));
    }

    [Test]
    public void Read_AfterABrokenSequence_NothingMoreIsRead()
    {
        var patient = El(0x0010, 0x0010, "PN", Text("TEST^PATIENT"));
        byte[] open = [.. Header(0x0008, 0x1110, "SQ", 0xFFFFFFFF)];
        Assert.Multiple(() =>
        {
            var notAnItem = Read(Part10([.. open, .. El(0x0008, 0x0050, "SH", []), .. patient]));
            Assert.That((notAnItem.Tags.PatientName, notAnItem.IncompleteReason), Is.EqualTo(((string?)null, "unexpected element inside a sequence")));
            var itemTooLong = Read(Part10([.. open, .. Item(1000), .. patient]));
            Assert.That((itemTooLong.Tags.PatientName, itemTooLong.IncompleteReason), Is.EqualTo(((string?)null, "truncated")));
            var innerTooLong = Read(Part10([.. open, .. Item(0xFFFFFFFF), .. Header(0x0008, 0x1150, "UI", 1000), .. patient]));
            Assert.That((innerTooLong.Tags.PatientName, innerTooLong.IncompleteReason), Is.EqualTo(((string?)null, "truncated")));
            var innerBadVr = Read(Part10([.. open, .. Item(0xFFFFFFFF), .. Tag(0x0008, 0x1150), (byte)'u', (byte)'i', 0, 0, .. patient]));
            Assert.That((innerBadVr.Tags.PatientName, innerBadVr.IncompleteReason), Is.EqualTo(((string?)null, "invalid value representation")));
            var innerCut = Read(Part10([.. open, .. Item(0xFFFFFFFF), .. Tag(0x0008, 0x1150), (byte)'U']));
            Assert.That((innerCut.Tags.PatientName, innerCut.IncompleteReason), Is.EqualTo(((string?)null, "truncated")));
        });
    }
}
