using System.Text;
using System.Text.RegularExpressions;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Decoders for shapes in the message's text: data: URIs, uuencode, yEnc, and base64 that sits where
// no MIME parser decodes it (preambles, epilogues, multiparts declared base64, padding mid-stream).
// Written independently of the gateway's readers, and lenient on purpose: an eavesdropper's decoder is.
public static partial class ImageSliceScanner
{
    private static IEnumerable<Decoder> MimeDecoders() => [DataUris, Uudecode, Ydecode, Base64Runs];

    private static readonly Regex DataUri = new(@"data:[^,\s""'()<>]{0,200},([A-Za-z0-9+/=%\r\n \t\-._~!$&*;:@]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static readonly Regex ColonReference = new("&(#0*58|#x0*3a|colon);", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    private static IEnumerable<byte[]> DataUris(byte[] blob)
    {
        // Browsers decode character references in attributes first: "data&#58;" is "data:".
        var text = ColonReference.Replace(Encoding.Latin1.GetString(blob), ":");
        foreach (Match m in DataUri.Matches(text))
        {
            var head = m.Value[..m.Value.IndexOf(',')];
            var payload = Uri.UnescapeDataString(m.Groups[1].Value);
            if (head.EndsWith(";base64", StringComparison.OrdinalIgnoreCase))
                yield return LenientBase64(payload);
            else
                yield return PercentDecode(m.Groups[1].Value);
        }
    }

    private static byte[] PercentDecode(string s)
    {
        var output = new List<byte>(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%' && i + 2 < s.Length && byte.TryParse(s.AsSpan(i + 1, 2), System.Globalization.NumberStyles.HexNumber, null, out var b))
            {
                output.Add(b);
                i += 2;
            }
            else if (!char.IsWhiteSpace(s[i])) output.Add((byte)s[i]);
        }
        return [.. output];
    }

    /// <summary>Each group of four alphabet characters on its own; padding restarts, anything else is skipped.</summary>
    private static byte[] LenientBase64(string s)
    {
        var output = new List<byte>(s.Length * 3 / 4);
        var group = new List<int>(4);
        foreach (var c in s)
        {
            var v = c switch
            {
                >= 'A' and <= 'Z' => c - 'A',
                >= 'a' and <= 'z' => c - 'a' + 26,
                >= '0' and <= '9' => c - '0' + 52,
                '+' or '-' => 62,
                '/' or '_' => 63,
                '=' => -2,
                _ => -1,
            };
            if (v == -1) continue;
            if (v == -2)
            {
                Flush(group, output);
                continue;
            }
            group.Add(v);
            if (group.Count == 4) Flush(group, output);
        }
        Flush(group, output);
        return [.. output];

        static void Flush(List<int> g, List<byte> o)
        {
            if (g.Count >= 2) o.Add((byte)((g[0] << 2) | (g[1] >> 4)));
            if (g.Count >= 3) o.Add((byte)((g[1] << 4) | (g[2] >> 2)));
            if (g.Count >= 4) o.Add((byte)((g[2] << 6) | g[3]));
            g.Clear();
        }
    }

    private static IEnumerable<byte[]> Uudecode(byte[] blob)
    {
        var lines = Encoding.Latin1.GetString(blob).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        for (var i = 0; i < lines.Count; i++)
        {
            if (!lines[i].StartsWith("begin ", StringComparison.Ordinal)) continue;
            var output = new List<byte>();
            for (i++; i < lines.Count && lines[i] != "end"; i++)
            {
                var line = lines[i];
                if (line.Length == 0) continue;
                var n = (line[0] - 32) & 63;
                var bits = 0;
                var acc = 0;
                var produced = 0;
                for (var j = 1; j < line.Length && produced < n; j++)
                {
                    acc = (acc << 6) | ((line[j] - 32) & 63);
                    bits += 6;
                    if (bits >= 8)
                    {
                        bits -= 8;
                        output.Add((byte)(acc >> bits));
                        produced++;
                    }
                }
            }
            yield return [.. output];
        }
    }

    private static IEnumerable<byte[]> Ydecode(byte[] blob)
    {
        var start = blob.AsSpan().IndexOf("=ybegin "u8);
        while (start >= 0)
        {
            var line = Array.IndexOf(blob, (byte)'\n', start);
            if (line < 0) yield break;
            var output = new List<byte>();
            var escape = false;
            var i = line + 1;
            for (; i < blob.Length; i++)
            {
                if (blob[i] == '=' && i + 5 < blob.Length && blob.AsSpan(i, 6).SequenceEqual("=yend "u8)) break;
                var b = blob[i];
                if (b is (byte)'\r' or (byte)'\n') continue;
                if (!escape && b == '=')
                {
                    escape = true;
                    continue;
                }
                output.Add((byte)((escape ? b - 64 : b) - 42));
                escape = false;
            }
            yield return [.. output];
            var next = blob.AsSpan(i).IndexOf("=ybegin "u8);
            start = next < 0 ? -1 : i + next;
        }
    }

    private static readonly Regex Base64Line = new(@"^[A-Za-z0-9+/=]{16,}\r?$", RegexOptions.Multiline | RegexOptions.CultureInvariant);

    /// <summary>Runs of consecutive lines that are nothing but base64, wherever they sit in a text.</summary>
    private static IEnumerable<byte[]> Base64Runs(byte[] blob)
    {
        // Binary containers (TNEF) store attached files raw, so an attached message's base64 shows there too.
        var text = Encoding.Latin1.GetString(blob);
        var run = new StringBuilder();
        var lastEnd = -1;
        foreach (Match m in Base64Line.Matches(text))
        {
            if (lastEnd >= 0 && m.Index != lastEnd + 1 && run.Length > 0)
            {
                yield return LenientBase64(run.ToString());
                run.Clear();
            }
            run.Append(m.Value.TrimEnd('\r'));
            lastEnd = m.Index + m.Length;
        }
        if (run.Length > 0) yield return LenientBase64(run.ToString());
    }
}
