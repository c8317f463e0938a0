using System.Buffers.Binary;
using System.Text;

namespace PhiMailGateway.Inspection;

/// <summary>The DICOM attributes the audit needs (HIPAA 164.528: whose images were disclosed), and the image geometry.</summary>
public sealed record DicomTags
{
    public string? PatientName { get; init; }
    public string? PatientId { get; init; }
    public string? PatientBirthDate { get; init; }
    public string? Modality { get; init; }
    public string? StudyDate { get; init; }
    public string? BodyPartExamined { get; init; }
    public int? Rows { get; init; }
    public int? Columns { get; init; }
    public int? SamplesPerPixel { get; init; }
    public int? BitsAllocated { get; init; }
}

/// <summary>What <see cref="DicomHeaderReader"/> found. <see cref="Complete"/> false means the tags may be missing.</summary>
public sealed record DicomHeader
{
    /// <summary>True for Part 10 files (128-byte preamble and <c>DICM</c>), false for raw datasets.</summary>
    public required bool HasPreamble { get; init; }

    /// <summary>(0002,0010) when a file meta group was present.</summary>
    public string? TransferSyntaxUid { get; init; }

    public required DicomTags Tags { get; init; }

    /// <summary>True when the reader reached pixel data, passed the tags it wants, or the clean end of the data.</summary>
    public required bool Complete { get; init; }

    /// <summary>Why reading stopped early: truncated, hostile length, scan limit, unsupported transfer syntax.</summary>
    public string? IncompleteReason { get; init; }

    /// <summary>True when reading stopped because the data is damaged (not because of an unsupported but valid encoding).</summary>
    public bool Damaged { get; init; }
}

/// <summary>
/// Reads the few DICOM header attributes we need, from a bounded prefix of the file, without any
/// DICOM library. Supports explicit and implicit VR little endian (the file meta group is always
/// explicit LE; the dataset switches to implicit LE when the transfer syntax is 1.2.840.10008.1.2).
/// Deflated and big-endian datasets are reported as DICOM with their tags unavailable.
/// <para>
/// Hostile input is the normal case for a mail gateway: a length is never used to allocate, only
/// to skip within the span; a value is read only when it is at most <see cref="MaxValueBytes"/>;
/// sequence nesting is capped; and any length that runs past the data ends reading with
/// <see cref="DicomHeader.Complete"/> false instead of an exception. The caller bounds the scan by
/// the span it passes (<see cref="MaxScanBytes"/>).
/// </para>
/// </summary>
public static class DicomHeaderReader
{
    /// <summary>How much of a file the inspector hands to the reader.</summary>
    public const int MaxScanBytes = 1 << 20;

    /// <summary>Longest value read for a wanted tag; longer values are skipped (patient names are 64 chars per component).</summary>
    public const int MaxValueBytes = 1024;

    private const int MaxSequenceDepth = 16;
    private const uint UndefinedLength = 0xFFFFFFFF;
    private const string ImplicitVrLittleEndian = "1.2.840.10008.1.2";
    private const string ExplicitVrBigEndian = "1.2.840.10008.1.2.2";
    private const string DeflatedExplicitVrLittleEndian = "1.2.840.10008.1.2.1.99";

    // Tags as (group << 16 | element).
    private const uint PixelData = 0x7FE00010;
    private const uint TransferSyntax = 0x00020010;
    private const uint LastWantedTag = 0x00280100; // BitsAllocated: everything we read sits before it.

    /// <summary>True when the data starts like a DICOM file: Part 10 marker, or a plausible first dataset element.</summary>
    public static bool LooksLikeDicom(ReadOnlySpan<byte> data) => HasPart10Marker(data) || DetectRaw(data) is not null;

    /// <summary>Reads the header, or returns null when the data is not DICOM.</summary>
    /// <param name="data">A prefix of the file (the whole file when it is small).</param>
    /// <param name="moreDataFollows">True when <paramref name="data"/> was cut at the scan limit, so running off its end is not truncation.</param>
    public static DicomHeader? Read(ReadOnlySpan<byte> data, bool moreDataFollows)
    {
        bool hasPreamble;
        int position;
        bool explicitVr;
        if (HasPart10Marker(data))
        {
            hasPreamble = true;
            position = 132;
            explicitVr = true;
        }
        else if (DetectRaw(data) is { } raw)
        {
            hasPreamble = false;
            position = 0;
            explicitVr = raw;
        }
        else
        {
            return null;
        }

        var state = new State(moreDataFollows);
        var inMeta = true;
        while (true)
        {
            if (position == data.Length)
            {
                if (moreDataFollows) state.Stop("scan limit reached before the patient tags", damaged: false);
                else state.Done();
                break;
            }
            if (position + 8 > data.Length)
            {
                state.Truncated();
                break;
            }

            var tag = ReadTag(data, position);
            if (inMeta && tag >> 16 != 0x0002)
            {
                inMeta = false;
                if (hasPreamble || state.TransferSyntaxUid is not null)
                {
                    switch (state.TransferSyntaxUid)
                    {
                        case ImplicitVrLittleEndian: explicitVr = false; break;
                        case ExplicitVrBigEndian:
                            state.Stop("big-endian transfer syntax: tags not read", damaged: false);
                            return state.Result(hasPreamble);
                        case DeflatedExplicitVrLittleEndian:
                            state.Stop("deflated transfer syntax: tags not read", damaged: false);
                            return state.Result(hasPreamble);
                        default: explicitVr = true; break;
                    }
                }
            }
            if (tag == PixelData || tag > LastWantedTag && tag >> 16 != 0xFFFE)
            {
                state.Done();
                break;
            }

            if (!ReadElementHeader(data, position, inMeta || explicitVr, out var vr, out var length, out var headerLength, out var error))
            {
                state.Stop(error, damaged: true);
                break;
            }
            position += headerLength;

            if (length == UndefinedLength)
            {
                // Sequences (and UN holding one) of undefined length: walk their items to the delimiter.
                var nestedExplicit = (inMeta || explicitVr) && vr != "UN";
                if (!SkipUndefinedSequence(data, ref position, nestedExplicit, 1, ref state)) break;
                continue;
            }
            if (length > data.Length - position)
            {
                if (moreDataFollows && length <= int.MaxValue) state.Stop("scan limit reached inside an element", damaged: false);
                else state.Stop($"element ({tag >> 16:X4},{tag & 0xFFFF:X4}) length {length} runs past the end of the data", damaged: true);
                break;
            }
            var value = data.Slice(position, (int)length);
            state.Take(tag, value);
            position += (int)length;
        }
        return state.Result(hasPreamble);
    }

    private static bool HasPart10Marker(ReadOnlySpan<byte> data) => data.Length >= 132 && data.Slice(128, 4).SequenceEqual("DICM"u8);

    /// <summary>
    /// Raw DICOM has no magic, so we ask for two consecutive well-formed elements in group 0x0002 or
    /// 0x0008 with ascending tags, which random or text data practically never is. Returns whether
    /// the VR is explicit, or null when the data does not look like a dataset.
    /// </summary>
    private static bool? DetectRaw(ReadOnlySpan<byte> data)
    {
        foreach (var explicitVr in (ReadOnlySpan<bool>)[true, false])
        {
            var position = 0;
            uint previous = 0;
            var ok = true;
            for (var i = 0; i < 2 && ok; i++)
            {
                if (position + 8 > data.Length) { ok = false; break; }
                var tag = ReadTag(data, position);
                var group = tag >> 16;
                ok = (group is 0x0002 or 0x0008) && tag > previous && (i == 0 || group == previous >> 16);
                if (!ok) break;
                ok = ReadElementHeader(data, position, explicitVr, out _, out var length, out var headerLength, out _)
                    && length != UndefinedLength && length <= 1024 && position + headerLength + length <= data.Length;
                if (ok)
                {
                    previous = tag;
                    position += headerLength + (int)length;
                }
            }
            if (ok) return explicitVr;
        }
        return null;
    }

    private static uint ReadTag(ReadOnlySpan<byte> data, int position) =>
        (uint)BinaryPrimitives.ReadUInt16LittleEndian(data[position..]) << 16 | BinaryPrimitives.ReadUInt16LittleEndian(data[(position + 2)..]);

    private static bool ReadElementHeader(ReadOnlySpan<byte> data, int position, bool explicitVr, out string vr, out uint length, out int headerLength, out string error)
    {
        vr = "";
        length = 0;
        headerLength = 8;
        error = "";
        var group = BinaryPrimitives.ReadUInt16LittleEndian(data[position..]);
        if (!explicitVr || group == 0xFFFE)
        {
            // Implicit VR, and item/delimiter tags in any syntax: tag, 4-byte length.
            length = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 4)..]);
            return true;
        }
        var a = data[position + 4];
        var b = data[position + 5];
        if (a is < (byte)'A' or > (byte)'Z' || b is < (byte)'A' or > (byte)'Z')
        {
            error = "invalid value representation";
            return false;
        }
        vr = string.Create(2, (a, b), static (s, v) => { s[0] = (char)v.a; s[1] = (char)v.b; });
        if (vr is "OB" or "OW" or "OF" or "SQ" or "UT" or "UN" or "UC" or "UR" or "OD" or "OL" or "OV" or "SV" or "UV")
        {
            if (position + 12 > data.Length)
            {
                error = "truncated element header";
                return false;
            }
            length = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 8)..]);
            headerLength = 12;
        }
        else
        {
            length = BinaryPrimitives.ReadUInt16LittleEndian(data[(position + 6)..]);
        }
        return true;
    }

    /// <summary>Skips the items of an undefined-length sequence up to its delimiter; false when reading must stop.</summary>
    private static bool SkipUndefinedSequence(ReadOnlySpan<byte> data, ref int position, bool explicitVr, int depth, ref State state)
    {
        if (depth > MaxSequenceDepth)
        {
            state.Stop("sequences nested too deeply", damaged: true);
            return false;
        }
        while (true)
        {
            if (position + 8 > data.Length) { state.Truncated(); return false; }
            var tag = ReadTag(data, position);
            var length = BinaryPrimitives.ReadUInt32LittleEndian(data[(position + 4)..]);
            position += 8;
            if (tag == 0xFFFEE0DD) return true; // sequence delimitation
            if (tag != 0xFFFEE000)
            {
                state.Stop("unexpected element inside a sequence", damaged: true);
                return false;
            }
            if (length != UndefinedLength)
            {
                if (length > data.Length - position) { state.Truncated(); return false; }
                position += (int)length;
                continue;
            }
            // An item of undefined length: its elements up to the item delimiter.
            while (true)
            {
                if (position + 8 > data.Length) { state.Truncated(); return false; }
                var inner = ReadTag(data, position);
                if (inner == 0xFFFEE00D) { position += 8; break; }
                if (!ReadElementHeader(data, position, explicitVr, out var vr, out var innerLength, out var headerLength, out var error))
                {
                    state.Stop(error, damaged: true);
                    return false;
                }
                position += headerLength;
                if (innerLength == UndefinedLength)
                {
                    if (!SkipUndefinedSequence(data, ref position, explicitVr && vr != "UN", depth + 1, ref state)) return false;
                    continue;
                }
                if (innerLength > data.Length - position) { state.Truncated(); return false; }
                position += (int)innerLength;
            }
        }
    }

    private struct State(bool moreDataFollows)
    {
        public string? TransferSyntaxUid;
        private string? _patientName, _patientId, _birthDate, _modality, _studyDate, _bodyPart;
        private int? _rows, _columns, _samples, _bits;
        private bool _complete;
        private string? _reason;
        private bool _damaged;

        public void Done() => _complete = true;

        public void Truncated()
        {
            if (moreDataFollows) Stop("scan limit reached before the patient tags", damaged: false);
            else Stop("truncated", damaged: true);
        }

        public void Stop(string reason, bool damaged)
        {
            _reason = reason;
            _damaged = damaged;
        }

        public void Take(uint tag, ReadOnlySpan<byte> value)
        {
            switch (tag)
            {
                case TransferSyntax: TransferSyntaxUid = Text(value); break;
                case 0x00100010: _patientName = Text(value); break;
                case 0x00100020: _patientId = Text(value); break;
                case 0x00100030: _birthDate = Text(value); break;
                case 0x00080060: _modality = Text(value); break;
                case 0x00080020: _studyDate = Text(value); break;
                case 0x00180015: _bodyPart = Text(value); break;
                case 0x00280002: _samples = UShort(value); break;
                case 0x00280010: _rows = UShort(value); break;
                case 0x00280011: _columns = UShort(value); break;
                case 0x00280100: _bits = UShort(value); break;
            }
        }

        public readonly DicomHeader Result(bool hasPreamble) => new()
        {
            HasPreamble = hasPreamble,
            TransferSyntaxUid = TransferSyntaxUid,
            Tags = new DicomTags
            {
                PatientName = _patientName, PatientId = _patientId, PatientBirthDate = _birthDate,
                Modality = _modality, StudyDate = _studyDate, BodyPartExamined = _bodyPart,
                Rows = _rows, Columns = _columns, SamplesPerPixel = _samples, BitsAllocated = _bits,
            },
            Complete = _complete && _reason is null,
            IncompleteReason = _reason,
            Damaged = _damaged,
        };

        private static int? UShort(ReadOnlySpan<byte> value) => value.Length >= 2 ? BinaryPrimitives.ReadUInt16LittleEndian(value) : null;

        /// <summary>Trimmed text; UTF-8 when valid (ISO_IR 192), otherwise Latin-1 (ISO_IR 100, the common case).</summary>
        private static string? Text(ReadOnlySpan<byte> value)
        {
            if (value.Length > MaxValueBytes) return null;
            string text;
            try
            {
                text = new UTF8Encoding(false, true).GetString(value);
            }
            catch (DecoderFallbackException)
            {
                text = Encoding.Latin1.GetString(value);
            }
            text = text.Trim(' ', '\0');
            return text.Length == 0 ? null : text;
        }
    }
}
