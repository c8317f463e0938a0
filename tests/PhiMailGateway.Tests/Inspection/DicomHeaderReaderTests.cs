using System.Buffers.Binary;
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
