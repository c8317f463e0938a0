namespace PhiMailGateway.Inspection.Containers;

/// <summary>One stream object: its dictionary and where its raw (still filtered) bytes sit in the file.</summary>
internal sealed record PdfStreamObject(int Number, Dictionary<string, object?> Dictionary, int DataOffset, int DataLength);

/// <summary>
/// Every object of a PDF, found by scanning the whole file for "N G obj" rather than by following
/// the cross-reference table or the page tree: an image object no page uses, an object left over
/// from an incremental update or one the table does not list still travels with the file, and a
/// viewer may still show it. Objects in object streams are added once those are decoded.
/// </summary>
internal sealed class PdfObjects
{
    /// <summary>An object number defined twice with different values: a reference to it resolves to nothing (unknown fails closed).</summary>
    private sealed record Ambiguous;

    private readonly Dictionary<int, object?> _values = [];
    private readonly int _maxObjects;

    private PdfObjects(int maxObjects) => _maxObjects = maxObjects;

    public List<PdfStreamObject> Streams { get; } = [];

    /// <summary>Set when any dictionary (trailer, cross-reference stream) names an /Encrypt dictionary.</summary>
    public bool Encrypted { get; private set; }

    public int Count { get; private set; }

    /// <summary>Object numbers referenced from /EF (embedded file) dictionaries.</summary>
    public HashSet<int> EmbeddedFiles { get; } = [];

    /// <exception cref="FormatException">An object or stream could not be read.</exception>
    /// <exception cref="ArchiveLimitException">More objects than <paramref name="maxObjects"/>.</exception>
    public static PdfObjects Scan(ReadOnlySpan<byte> d, int maxObjects)
    {
        var objects = new PdfObjects(maxObjects);
        if (d.IndexOf("/Encrypt"u8) >= 0) objects.Encrypted = true;
        var pending = new List<(int Number, Dictionary<string, object?> Dict, int Start)>();
        for (var pos = 0; pos < d.Length;)
        {
            var found = d[pos..].IndexOf("obj"u8);
            if (found < 0) break;
            var at = pos + found;
            pos = at + 3;
            if (pos < d.Length && PdfSyntax.IsRegular(d[pos])) continue;
            if (ObjectNumberBefore(d, at) is not { } number) continue;
            var i = at + 3;
            var value = PdfSyntax.ReadValue(d, ref i);
            objects.Add(number, value);
            if (value is not Dictionary<string, object?> dict) continue;
            var k = PdfSyntax.SkipWhite(d, i);
            if (!d[k..].StartsWith("stream"u8)) continue;
            var start = k + 6;
            if (start < d.Length && d[start] == '\r') start++;
            if (start < d.Length && d[start] == '\n') start++;
            pending.Add((number, dict, start));
        }
        for (var pos = 0; pos < d.Length;)
        {
            var found = d[pos..].IndexOf("trailer"u8);
            if (found < 0) break;
            var i = PdfSyntax.SkipWhite(d, pos + found + 7);
            pos += found + 7;
            if (i + 1 < d.Length && d[i] == '<' && d[i + 1] == '<') objects.Inspect(PdfSyntax.ReadDictionary(d, ref i));
        }
        foreach (var (number, dict, start) in pending)
            objects.Streams.Add(new PdfStreamObject(number, dict, start, objects.StreamLength(d, dict, start)));
        return objects;
    }

    /// <summary>Objects of a decoded object stream (/Type /ObjStm): /N pairs of number and offset, from /First.</summary>
    public void AddFromObjectStream(ReadOnlySpan<byte> decoded, Dictionary<string, object?> dict)
    {
        if (Resolve(dict.GetValueOrDefault("N")) is not double n || Resolve(dict.GetValueOrDefault("First")) is not double first || n < 0 || first < 0 || first > decoded.Length)
            throw new FormatException("object stream without /N or /First");
        var i = 0;
        var entries = new List<(int Number, int Offset)>();
        for (var e = 0; e < (int)n; e++)
        {
            if (PdfSyntax.ReadValue(decoded, ref i) is not double number || PdfSyntax.ReadValue(decoded, ref i) is not double offset)
                throw new FormatException("object stream header is damaged");
            entries.Add(((int)number, (int)offset));
        }
        foreach (var (number, offset) in entries)
        {
            var at = (int)first + offset;
            if (at < 0 || at >= decoded.Length) throw new FormatException("object stream offset out of range");
            Add(number, PdfSyntax.ReadValue(decoded, ref at));
        }
    }

    /// <summary>Follows references (a bounded number of hops); null when missing or ambiguous.</summary>
    public object? Resolve(object? value)
    {
        for (var hops = 0; hops < 8 && value is PdfRef r; hops++)
            value = _values.TryGetValue(r.Number, out var v) ? v : null;
        return value is PdfRef or Ambiguous ? null : value;
    }

    private void Add(int number, object? value)
    {
        if (++Count > _maxObjects) throw new ArchiveLimitException($"PDF has more than {_maxObjects} objects (Inspection:MaxPdfObjects)");
        if (_values.TryGetValue(number, out var existing) && !SameScalar(existing, value)) value = new Ambiguous();
        _values[number] = value;
        Inspect(value);
    }

    private static bool SameScalar(object? a, object? b) => a is double x && b is double y ? x == y : a is PdfName m && b is PdfName n && m == n;

    /// <summary>Notes /Encrypt and /EF references anywhere inside a value (bounded by the syntax's own nesting limit).</summary>
    private void Inspect(object? value)
    {
        var work = new Stack<object?>();
        work.Push(value);
        while (work.Count > 0)
        {
            switch (work.Pop())
            {
                case Dictionary<string, object?> dict:
                    if (dict.ContainsKey("Encrypt")) Encrypted = true;
                    if (dict.GetValueOrDefault("EF") is Dictionary<string, object?> ef)
                    {
                        foreach (var v in ef.Values)
                            if (v is PdfRef r) EmbeddedFiles.Add(r.Number);
                    }
                    foreach (var v in dict.Values) work.Push(v);
                    break;
                case List<object?> list:
                    foreach (var v in list) work.Push(v);
                    break;
            }
        }
    }

    /// <summary>/Length when it lands on "endstream"; otherwise up to the next "endstream" (as viewers repair it).</summary>
    private int StreamLength(ReadOnlySpan<byte> d, Dictionary<string, object?> dict, int start)
    {
        if (start > d.Length) throw new FormatException("stream starts past the end of the file");
        if (Resolve(dict.GetValueOrDefault("Length")) is double declared && declared >= 0 && start + declared <= d.Length)
        {
            var end = PdfSyntax.SkipWhite(d, start + (int)declared);
            if (d[end..].StartsWith("endstream"u8)) return (int)declared;
        }
        var found = d[start..].IndexOf("endstream"u8);
        if (found < 0) throw new FormatException("stream without endstream");
        var length = found;
        if (length > 0 && d[start + length - 1] == '\n') length--;
        if (length > 0 && d[start + length - 1] == '\r') length--;
        return length;
    }

    /// <summary>The object number of "N G obj" ending just before <paramref name="at"/>, or null when the text is not that.</summary>
    private static int? ObjectNumberBefore(ReadOnlySpan<byte> d, int at)
    {
        var j = at - 1;
        if (j < 0 || !PdfSyntax.IsWhite(d[j])) return null;
        while (j >= 0 && PdfSyntax.IsWhite(d[j])) j--;
        var genEnd = j;
        while (j >= 0 && d[j] is >= (byte)'0' and <= (byte)'9') j--;
        if (j == genEnd || j < 0 || !PdfSyntax.IsWhite(d[j])) return null;
        while (j >= 0 && PdfSyntax.IsWhite(d[j])) j--;
        var numEnd = j;
        while (j >= 0 && d[j] is >= (byte)'0' and <= (byte)'9') j--;
        if (j == numEnd || numEnd - j > 9) return null;
        if (j >= 0 && PdfSyntax.IsRegular(d[j])) return null;
        return int.Parse(d[(j + 1)..(numEnd + 1)], provider: System.Globalization.CultureInfo.InvariantCulture);
    }
}
