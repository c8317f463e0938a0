using System.Buffers;
using System.Text;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Finds files hidden in the text of a part and decodes them: <c>data:</c> URIs (base64 or
/// percent-encoded, folded across lines, in HTML attributes, CSS <c>url()</c> or plain text),
/// uuencode (<c>begin 644 name</c> .. <c>end</c>), <c>begin-base64</c> .. <c>====</c>, and yEnc
/// (<c>=ybegin</c> .. <c>=yend</c>). Fed the part's bytes chunk by chunk as they stream past, so a
/// large text part is never held as a string; only the decoded items are kept, each bounded.
/// Decoding is strict: a block that does not decode cleanly (characters outside the alphabet,
/// padding in the middle, a missing end line, a size that does not match) becomes a failed block,
/// because a reader more lenient than ours could still recover an image from it.
/// </summary>
internal sealed class EmbeddedBlockScanner(int allowance, long maxItemBytes)
{
    /// <summary>One item found in the text: its decoded bytes, or why it could not be decoded.</summary>
    public sealed record Block(string Kind, string? DeclaredType, byte[] Content, string? FailClosedReason);

    private enum State { Idle, DataHeader, DataBase64, DataPercent, Uu, UuBase64, Yenc }

    private const int MaxLineBytes = 4096;
    private const int IdleLineBytes = 64;
    private const int MaxDataHeaderBytes = 256;
    private const int MaxEntityChars = 8;   // "#x3a", "#58", "colon" (leading zeros are not kept)

    private static readonly SearchValues<byte> IdleStops = SearchValues.Create("dD\n"u8);

    private readonly List<Block> _blocks = [];
    private readonly byte[] _line = new byte[MaxLineBytes];
    private int _lineLength;
    private bool _lineOverflow;
    private State _state;
    private byte _previous = (byte)'\n';
    private int _dataMatch;            // how much of "data:" the last bytes matched; 5: inside a character reference after "data"
    private readonly StringBuilder _entity = new();
    private readonly StringBuilder _dataHeader = new();
    private string? _declaredType;
    private readonly StrictBase64 _base64 = new();
    private int _percent = -1;         // -1: none pending; otherwise count of hex digits read (0 or 1), value in _percentValue
    private int _percentValue;
    private int _blankLines;
    private MemoryStream? _content;
    private string? _error;
    private bool _collect;
    private long _yencSize;
    private string _kind = "";

    public IReadOnlyList<Block> Blocks => _blocks;

    /// <summary>More items were found than the allowance: those beyond it were not decoded.</summary>
    public bool TooMany { get; private set; }

    public void Feed(ReadOnlySpan<byte> data)
    {
        var i = 0;
        while (i < data.Length)
        {
            if (_state == State.Idle && _dataMatch == 0)
            {
                // Nothing pending: jump to the next byte that could start "data:" or end a line.
                var next = data[i..].IndexOfAny(IdleStops);
                var skip = next < 0 ? data.Length - i : next;
                if (skip > 0)
                {
                    AppendLine(data.Slice(i, skip));
                    _previous = data[i + skip - 1];
                    i += skip;
                    continue;
                }
            }
            Step(data[i]);
            i++;
        }
    }

    /// <summary>The end of the part: a block still open was cut off.</summary>
    public void Complete()
    {
        if (_lineLength > 0 || _lineOverflow) EndLine();
        switch (_state)
        {
            case State.DataBase64:
            case State.DataPercent:
                FinishData();
                break;
            case State.Uu:
                Fail("uuencode block has no end line");
                break;
            case State.UuBase64:
                Fail("begin-base64 block has no ==== line");
                break;
            case State.Yenc:
                Fail("yEnc block has no =yend line");
                break;
        }
        _state = State.Idle;
    }

    private void Step(byte b)
    {
        switch (_state)
        {
            case State.DataHeader:
                DataHeaderByte(b);
                break;
            case State.DataBase64:
                if (!DataBase64Byte(b)) return; // the byte ended the URI; Step ran again for it
                break;
            case State.DataPercent:
                if (!DataPercentByte(b)) return;
                break;
        }
        if (b != '\n') AppendLine([b]);
        if (_state == State.Idle) MatchData(b);
        if (b == '\n') EndLine();
        _previous = b;
    }

    private void AppendLine(ReadOnlySpan<byte> bytes)
    {
        var cap = _state is State.Uu or State.UuBase64 or State.Yenc ? MaxLineBytes : IdleLineBytes;
        var room = cap - _lineLength;
        if (bytes.Length > room)
        {
            if (_state is State.Uu or State.UuBase64 or State.Yenc) _lineOverflow = true;
            bytes = bytes[..Math.Max(0, room)];
        }
        bytes.CopyTo(_line.AsSpan(_lineLength));
        _lineLength += bytes.Length;
    }

    private void MatchData(byte b)
    {
        var lower = (byte)(b | 0x20);
        if (_dataMatch == 5)
        {
            // "data&#58;" and friends: browsers decode character references in attributes before the URI.
            if (b == ';')
            {
                _dataMatch = 0;
                if (_entity.ToString() is "colon" or "#58" or "#x3a") StartDataHeader();
                return;
            }
            if (ExtendsReference(b)) return;
            _dataMatch = 0;
            // A numeric reference needs no semicolon: "data&#58image/png" is a data: URI to a browser.
            if (_entity.ToString() is "#58" or "#x3a")
            {
                StartDataHeader();
                DataHeaderByte(b);
                return;
            }
        }
        // A browser drops tabs and line breaks anywhere in a URL: "da\r\nta:" in an attribute is "data:".
        if (_dataMatch != 0 && b is (byte)'\t' or (byte)'\r' or (byte)'\n') return;
        if (_dataMatch == 4 && b == '&')
        {
            _dataMatch = 5;
            _entity.Clear();
            return;
        }
        if (lower == "data:"u8[_dataMatch] && (_dataMatch > 0 || !IsWordByte(_previous)))
        {
            if (++_dataMatch < 5) return;
            StartDataHeader();
            return;
        }
        _dataMatch = lower == 'd' && !IsWordByte(_previous) ? 1 : 0;
    }

    private void StartDataHeader()
    {
        _dataMatch = 0;
        _dataHeader.Clear();
        _state = State.DataHeader;
    }

    /// <summary>
    /// Whether <paramref name="b"/> belongs to the character reference after "data&amp;", kept lowercase
    /// in <see cref="_entity"/> without leading zeros, so a colon is "colon", "#58" or "#x3a".
    /// </summary>
    private bool ExtendsReference(byte b)
    {
        var c = char.IsAsciiLetterUpper((char)b) ? (char)(b | 0x20) : (char)b;
        if (_entity.Length == 0)
        {
            if (b != '#' && !char.IsAsciiLetter(c)) return false;
        }
        else if (_entity[0] != '#')
        {
            if (!char.IsAsciiLetterOrDigit(c)) return false;
        }
        else if (_entity.Length == 1 && c == 'x')
        {
            // "&#x": the digits that follow are hexadecimal.
        }
        else
        {
            var hex = _entity.Length > 1 && _entity[1] == 'x';
            if (hex ? !char.IsAsciiHexDigit(c) : !char.IsAsciiDigit(c)) return false;
            // Leading zeros change nothing ("&#0000058;"), so they take no room.
            if (c == '0' && _entity.Length == (hex ? 2 : 1)) return true;
        }
        if (_entity.Length >= MaxEntityChars) return false;
        _entity.Append(c);
        return true;
    }

    private static bool IsWordByte(byte b) => b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9' or (byte)'-' or (byte)'_';

    private void DataHeaderByte(byte b)
    {
        if (b == ',')
        {
            // Browsers strip whitespace around the media type and allow it before "base64"
            // ("data: image/png ; base64,"), and drop tabs and line breaks anywhere in a URL.
            var header = string.Concat(_dataHeader.ToString().Where(c => c > ' ')).ToLowerInvariant();
            var base64 = header.EndsWith(";base64", StringComparison.Ordinal);
            var type = header.Split(';')[0];
            StartItem(base64 ? "data: URI (base64)" : "data: URI", type.Length == 0 ? null : Uri.UnescapeDataString(type));
            _state = base64 ? State.DataBase64 : State.DataPercent;
            _base64.Reset();
            _percent = -1;
            _blankLines = 0;
            return;
        }
        // Not a data URI after all ("data: see below."): only media type characters and spaces may come before the comma.
        if ((b < ' ' && b is not ((byte)'\t' or (byte)'\r' or (byte)'\n')) || b >= 0x7F || b is (byte)'"' or (byte)'\'' or (byte)'<' or (byte)'>' or (byte)'(' or (byte)')' || _dataHeader.Length >= MaxDataHeaderBytes)
        {
            _state = State.Idle;
            return;
        }
        _dataHeader.Append((char)b);
    }

    /// <returns>False when <paramref name="b"/> ended the URI (it has then been processed as text).</returns>
    private bool DataBase64Byte(byte b)
    {
        if (_percent >= 0)
        {
            if (HexValue(b) is not { } hex)
            {
                _error ??= "data: URI has a broken percent escape";
                _percent = -1;
                return EndDataWith(b);
            }
            _percentValue = _percentValue * 16 + hex;
            if (++_percent < 2) return true;
            _percent = -1;
            Base64Char((byte)_percentValue);
            return true;
        }
        switch (b)
        {
            case (byte)'\n':
                // Mail clients fold a long URI across lines, but never leave a blank line inside one.
                if (++_blankLines >= 2) return EndDataWith(b);
                return true;
            case (byte)'\r' or (byte)' ' or (byte)'\t':
                return true;
            case (byte)'%':
                _percent = 0;
                _percentValue = 0;
                _blankLines = 0;
                return true;
        }
        if (!StrictBase64.IsAlphabet(b) && b != '=')
        {
            // A quote, bracket or parenthesis closes the URI; any other character inside it is damage
            // (browsers refuse such a URI, lenient readers skip the character and decode on).
            if (b is not ((byte)'"' or (byte)'\'' or (byte)')' or (byte)'<' or (byte)'>' or (byte)'\\'))
                _error ??= "data: URI does not decode as base64 (a character outside the base64 alphabet)";
            return EndDataWith(b);
        }
        _blankLines = 0;
        Base64Char(b);
        return true;
    }

    private void Base64Char(byte b)
    {
        if (_base64.Add(b, out var decoded, out var count) is { } defect)
            _error ??= $"data: URI does not decode as base64 ({defect})";
        else if (count > 0) Write(decoded.AsSpan(0, count));
    }

    private bool DataPercentByte(byte b)
    {
        if (_percent >= 0)
        {
            if (HexValue(b) is not { } hex)
            {
                _error ??= "data: URI has a broken percent escape";
                _percent = -1;
                return EndDataWith(b);
            }
            _percentValue = _percentValue * 16 + hex;
            if (++_percent < 2) return true;
            _percent = -1;
            Write([(byte)_percentValue]);
            return true;
        }
        switch (b)
        {
            case (byte)'\n':
                // Folded like a base64 URI (a browser drops the line breaks), but text after a blank line is not payload.
                if (++_blankLines >= 2) return EndDataWith(b);
                return true;
            case (byte)'\r' or (byte)'\t':
                return true;
            case (byte)'%':
                _percent = 0;
                _percentValue = 0;
                _blankLines = 0;
                return true;
        }
        if (b <= ' ' || b is (byte)'"' or (byte)'\'' or (byte)')' or (byte)'<' or (byte)'>') return EndDataWith(b);
        _blankLines = 0;
        Write([b]);
        return true;
    }

    private bool EndDataWith(byte b)
    {
        FinishData();
        _state = State.Idle;
        Step(b);
        return false;
    }

    private void FinishData()
    {
        if (_state == State.DataBase64)
        {
            if (_base64.Finish(out var tail, out var count) is { } defect) _error ??= $"data: URI does not decode as base64 ({defect})";
            else if (count > 0) Write(tail.AsSpan(0, count));
        }
        if (_percent >= 0) _error ??= "data: URI ends inside a percent escape";
        _percent = -1;
        EndItem();
    }

    private static int? HexValue(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => null,
    };

    private void EndLine()
    {
        var line = _line.AsSpan(0, _lineLength);
        if (line.EndsWith("\r"u8)) line = line[..^1];
        var overflow = _lineOverflow;
        switch (_state)
        {
            case State.Idle:
                StartBlock(line);
                break;
            case State.Uu:
                UuLine(line, overflow);
                break;
            case State.UuBase64:
                UuBase64Line(line, overflow);
                break;
            case State.Yenc:
                YencLine(line, overflow);
                break;
        }
        _lineLength = 0;
        _lineOverflow = false;
    }

    private void StartBlock(ReadOnlySpan<byte> line)
    {
        if (line.StartsWith("begin-base64 "u8))
        {
            StartItem("begin-base64 block", null);
            _base64.Reset();
            _state = State.UuBase64;
        }
        else if (line.StartsWith("begin "u8) && line.Length > 6 && line[6] is >= (byte)'0' and <= (byte)'7')
        {
            StartItem("uuencode block", null);
            _state = State.Uu;
        }
        else if (line.StartsWith("=ybegin "u8))
        {
            StartItem("yEnc block", null);
            _yencSize = YencNumber(line, "size="u8) ?? -1;
            if (_yencSize < 0) _error ??= "yEnc header has no size";
            _state = State.Yenc;
        }
    }

    private void UuLine(ReadOnlySpan<byte> line, bool overflow)
    {
        if (line.SequenceEqual("end"u8))
        {
            EndItem();
            _state = State.Idle;
            return;
        }
        if (overflow)
        {
            _error ??= "uuencode line too long";
            return;
        }
        if (line.Length == 0) return;
        foreach (var c in line)
        {
            if (c is < 0x20 or > 0x60)
            {
                _error ??= "uuencode line has characters outside its alphabet";
                return;
            }
        }
        var n = (line[0] - 0x20) & 0x3F;
        // Encoders may drop trailing spaces (value 0); anything more missing is damage.
        var needed = (n + 2) / 3 * 4;
        if (line.Length - 1 < needed - 2 || line.Length - 1 > needed + 1)
        {
            _error ??= "uuencode line length does not match its count";
            return;
        }
        // The count character allows up to 63 bytes a line (encoders write 45; a line of more is still read).
        Span<byte> decoded = stackalloc byte[63];
        var written = 0;
        for (var j = 0; j < needed && written < n; j += 4)
        {
            int c0 = Uu(line, 1 + j), c1 = Uu(line, 2 + j), c2 = Uu(line, 3 + j), c3 = Uu(line, 4 + j);
            decoded[written++] = (byte)((c0 << 2) | (c1 >> 4));
            if (written < n) decoded[written++] = (byte)((c1 << 4) | (c2 >> 2));
            if (written < n) decoded[written++] = (byte)((c2 << 6) | c3);
        }
        Write(decoded[..written]);

        static int Uu(ReadOnlySpan<byte> l, int i) => i < l.Length ? (l[i] - 0x20) & 0x3F : 0;
    }

    private void UuBase64Line(ReadOnlySpan<byte> line, bool overflow)
    {
        if (line.SequenceEqual("===="u8))
        {
            if (_base64.Finish(out var tail, out var count) is { } defect) _error ??= $"begin-base64 block does not decode ({defect})";
            else Write(tail.AsSpan(0, count));
            EndItem();
            _state = State.Idle;
            return;
        }
        if (overflow)
        {
            _error ??= "begin-base64 line too long";
            return;
        }
        foreach (var c in line)
        {
            if (c is (byte)' ' or (byte)'\t') continue;
            if (_base64.Add(c, out var decoded, out var count) is { } defect)
            {
                _error ??= $"begin-base64 block does not decode ({defect})";
                return;
            }
            if (count > 0) Write(decoded.AsSpan(0, count));
        }
    }

    private void YencLine(ReadOnlySpan<byte> line, bool overflow)
    {
        if (line.StartsWith("=yend"u8))
        {
            var size = YencNumber(line, "size="u8);
            var length = _content?.Length ?? 0;
            if (_collect && _error is null && (size != _yencSize || length != _yencSize)) _error = "yEnc size does not match its header";
            EndItem();
            _state = State.Idle;
            return;
        }
        if (line.StartsWith("=ypart "u8))
        {
            // One part of a file split over several messages: the other parts cannot be seen from here.
            _error ??= "yEnc part of a multi-part file (a fragment cannot be read with certainty)";
            return;
        }
        if (overflow)
        {
            _error ??= "yEnc line too long";
            return;
        }
        Span<byte> decoded = stackalloc byte[line.Length];
        var written = 0;
        for (var j = 0; j < line.Length; j++)
        {
            var c = line[j];
            if (c == '=')
            {
                if (++j >= line.Length)
                {
                    _error ??= "yEnc escape at the end of a line";
                    return;
                }
                c = (byte)(line[j] - 64);
            }
            decoded[written++] = (byte)(c - 42);
        }
        Write(decoded[..written]);
    }

    private static long? YencNumber(ReadOnlySpan<byte> line, ReadOnlySpan<byte> key)
    {
        var at = line.IndexOf(key);
        if (at < 0 || (at > 0 && line[at - 1] != ' ')) return null;
        var digits = line[(at + key.Length)..];
        var end = digits.IndexOfAnyExceptInRange((byte)'0', (byte)'9');
        if (end >= 0) digits = digits[..end];
        return digits.Length is > 0 and <= 15 ? long.Parse(Encoding.ASCII.GetString(digits), System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    private void StartItem(string kind, string? declaredType)
    {
        _kind = kind;
        _declaredType = declaredType;
        _error = null;
        _collect = _blocks.Count < allowance;
        if (!_collect) TooMany = true;
        _content = _collect ? new MemoryStream() : null;
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        if (_content is null) return;
        if (_content.Length + bytes.Length > maxItemBytes)
        {
            _error ??= $"embedded item larger than {maxItemBytes} bytes (Inspection:MaxEmbeddedItemBytes)";
            _content = null; // keep nothing more; the item fails closed
            _collect = false;
            _blocks.Add(new Block(_kind, _declaredType, [], _error));
            return;
        }
        _content.Write(bytes);
    }

    private void Fail(string reason)
    {
        _error ??= reason;
        EndItem();
    }

    private void EndItem()
    {
        if (_collect && _content is not null && (_content.Length > 0 || _error is not null))
            _blocks.Add(new Block(_kind, _declaredType, _content.ToArray(), _error));
        _content = null;
        _collect = false;
    }
}

/// <summary>
/// Base64 one character at a time, strictly: only the alphabet, padding only at the end (and only
/// where a group may end). Missing final padding is accepted, as many encoders leave it out.
/// </summary>
internal sealed class StrictBase64
{
    private readonly byte[] _out = new byte[3];
    private int _bits;
    private int _count;     // characters in the current group
    private int _padding;   // '=' seen; after one, nothing but '=' may follow

    public void Reset()
    {
        _bits = _count = _padding = 0;
    }

    public static bool IsAlphabet(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/';

    /// <returns>The defect, or null; <paramref name="count"/> bytes of <paramref name="decoded"/> are new output.</returns>
    public string? Add(byte c, out byte[] decoded, out int count)
    {
        decoded = _out;
        count = 0;
        if (c == '=')
        {
            if (_padding == 0 && _count < 2) return "padding where no group can end";
            if (_padding > 0 && _count + _padding >= 4) return "too much padding";
            if (_padding == 0) count = Flush();
            _padding++;
            return null;
        }
        if (!IsAlphabet(c)) return "a character outside the base64 alphabet";
        if (_padding > 0) return "padding in the middle";
        _bits = (_bits << 6) | Value(c);
        if (++_count == 4)
        {
            _out[0] = (byte)(_bits >> 16);
            _out[1] = (byte)(_bits >> 8);
            _out[2] = (byte)_bits;
            _bits = _count = 0;
            count = 3;
        }
        return null;
    }

    /// <summary>The end of the data: a group of one character is damage, two or three are a short tail.</summary>
    public string? Finish(out byte[] decoded, out int count)
    {
        decoded = _out;
        count = 0;
        if (_padding > 0)
        {
            Reset();
            return null;
        }
        if (_count == 1)
        {
            Reset();
            return "truncated";
        }
        count = Flush();
        Reset();
        return null;
    }

    /// <summary>Emits a short group (two or three characters) and keeps its length for the padding check.</summary>
    private int Flush()
    {
        var n = _count;
        if (n < 2) return 0;
        var bits = _bits << (6 * (4 - n));
        _out[0] = (byte)(bits >> 16);
        _out[1] = (byte)(bits >> 8);
        _bits = 0;
        return n - 1;
    }

    private static int Value(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        _ => 63,
    };
}
