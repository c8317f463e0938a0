using System.Globalization;
using System.Text;

namespace PhiMailGateway.Inspection.Containers;

/// <summary>A PDF name with its #xx escapes decoded ("/Im#61ge" is "Image": names must not hide from us).</summary>
internal sealed record PdfName(string Value);

internal readonly record struct PdfRef(int Number, int Generation);

internal sealed record PdfKeyword(string Value);

/// <summary>A literal or hex string; its content does not matter to inspection.</summary>
internal sealed record PdfString;

/// <summary>
/// The PDF value syntax (ISO 32000 7.3), strict enough for inspection: numbers, names, strings,
/// arrays, dictionaries and references. Nesting is bounded by a counter; anything it cannot read
/// throws <see cref="FormatException"/>, which fails the PDF closed.
/// </summary>
internal static class PdfSyntax
{
    private const int MaxNesting = 64;

    public static bool IsWhite(byte b) => b is 0 or 9 or 10 or 12 or 13 or 32;

    public static bool IsDelimiter(byte b) => b is (byte)'(' or (byte)')' or (byte)'<' or (byte)'>' or (byte)'[' or (byte)']' or (byte)'{' or (byte)'}' or (byte)'/' or (byte)'%';

    public static bool IsRegular(byte b) => !IsWhite(b) && !IsDelimiter(b);

    public static int SkipWhite(ReadOnlySpan<byte> d, int i)
    {
        while (i < d.Length)
        {
            if (IsWhite(d[i])) i++;
            else if (d[i] == '%')
            {
                while (i < d.Length && d[i] is not (10 or 13)) i++;
            }
            else break;
        }
        return i;
    }

    /// <summary>Reads one value at <paramref name="i"/>; "N G R" becomes a <see cref="PdfRef"/>.</summary>
    public static object? ReadValue(ReadOnlySpan<byte> d, ref int i, int nesting = 0)
    {
        if (nesting > MaxNesting) throw new FormatException("PDF objects nested too deep");
        i = SkipWhite(d, i);
        if (i >= d.Length) throw new FormatException("PDF ends inside an object");
        var b = d[i];
        switch (b)
        {
            case (byte)'/':
                return ReadName(d, ref i);
            case (byte)'(':
                SkipLiteralString(d, ref i);
                return new PdfString();
            case (byte)'<' when i + 1 < d.Length && d[i + 1] == '<':
                return ReadDictionary(d, ref i, nesting);
            case (byte)'<':
                var close = d[i..].IndexOf((byte)'>');
                if (close < 0) throw new FormatException("unterminated hex string");
                i += close + 1;
                return new PdfString();
            case (byte)'[':
                i++;
                var list = new List<object?>();
                while (true)
                {
                    i = SkipWhite(d, i);
                    if (i >= d.Length) throw new FormatException("unterminated array");
                    if (d[i] == ']') { i++; return list; }
                    list.Add(ReadValue(d, ref i, nesting + 1));
                }
            case (byte)'+' or (byte)'-' or (byte)'.' or (>= (byte)'0' and <= (byte)'9'):
                var number = ReadNumber(d, ref i);
                // "12 0 R" is a reference: look ahead without consuming when it is not.
                if (number >= 0 && number == Math.Floor(number))
                {
                    var j = SkipWhite(d, i);
                    var start = j;
                    while (j < d.Length && d[j] is >= (byte)'0' and <= (byte)'9') j++;
                    if (j > start && j - start < 10)
                    {
                        var k = SkipWhite(d, j);
                        if (k > j && k < d.Length && d[k] == 'R' && (k + 1 == d.Length || !IsRegular(d[k + 1])))
                        {
                            i = k + 1;
                            return new PdfRef((int)Math.Min(number, int.MaxValue), int.Parse(Encoding.ASCII.GetString(d[start..j]), CultureInfo.InvariantCulture));
                        }
                    }
                }
                return number;
            default:
                var end = i;
                while (end < d.Length && IsRegular(d[end])) end++;
                if (end == i) throw new FormatException("unexpected PDF delimiter");
                var keyword = Encoding.ASCII.GetString(d[i..end]);
                i = end;
                return keyword switch { "true" => true, "false" => false, "null" => null, _ => new PdfKeyword(keyword) };
        }
    }

    public static Dictionary<string, object?> ReadDictionary(ReadOnlySpan<byte> d, ref int i, int nesting = 0)
    {
        i += 2;
        var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
        while (true)
        {
            i = SkipWhite(d, i);
            if (i + 1 >= d.Length) throw new FormatException("unterminated dictionary");
            if (d[i] == '>' && d[i + 1] == '>') { i += 2; return dict; }
            if (d[i] != '/') throw new FormatException("dictionary key is not a name");
            var key = ReadName(d, ref i).Value;
            dict[key] = ReadValue(d, ref i, nesting + 1);
        }
    }

    public static PdfName ReadName(ReadOnlySpan<byte> d, ref int i)
    {
        i++;
        var sb = new StringBuilder();
        while (i < d.Length && IsRegular(d[i]))
        {
            if (d[i] == '#' && i + 2 < d.Length && byte.TryParse(Encoding.ASCII.GetString(d.Slice(i + 1, 2)), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var escaped))
            {
                sb.Append((char)escaped);
                i += 3;
            }
            else sb.Append((char)d[i++]);
        }
        return new PdfName(sb.ToString());
    }

    private static double ReadNumber(ReadOnlySpan<byte> d, ref int i)
    {
        var start = i;
        if (d[i] is (byte)'+' or (byte)'-') i++;
        while (i < d.Length && d[i] is (>= (byte)'0' and <= (byte)'9') or (byte)'.') i++;
        return double.TryParse(Encoding.ASCII.GetString(d[start..i]), NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value : throw new FormatException("bad PDF number");
    }

    private static void SkipLiteralString(ReadOnlySpan<byte> d, ref int i)
    {
        var depth = 0;
        for (; i < d.Length; i++)
        {
            switch (d[i])
            {
                case (byte)'\\': i++; break;
                case (byte)'(': depth++; break;
                case (byte)')' when --depth == 0: i++; return;
            }
        }
        throw new FormatException("unterminated string");
    }
}
