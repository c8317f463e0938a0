using System.Text;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Shapes in the message's own text and structure: data: URIs, uuencode and yEnc blocks, attached
// messages whatever their declared type, ambiguous MIME.
public static partial class FailClosedCorpus
{
    private const string Headers =
        "From: Front Desk <frontdesk@practice.example>\r\nTo: Dr Lab <doctor@lab.example>\r\nSubject: Referral for TEST^PATIENT\r\n" +
        "Date: Tue, 02 Jan 2024 09:30:00 +0000\r\nMessage-ID: <mime-shape@practice.example>\r\nMIME-Version: 1.0\r\n";

    public static IEnumerable<CorpusShape> MimeShapes()
    {
        var pano = DentalCorpus.PanoramicJpeg();
        var photo = DentalCorpus.IntraoralPhotoJpeg();
        var dicom = DentalCorpus.Dicom();
        var png = DentalCorpus.Png(640, 480, 0);

        // 1. data: URIs, folded as mail clients fold long lines.
        yield return Shape("html-data-uri-img", Html($"<p>See the X-ray:</p><img src=\"data:image/jpeg;base64,{Base64(pano, 76)}\" alt=\"x\">"), pano);
        yield return Shape("html-data-uri-css-no-type", Html($"<div style=\"background:url(data:;base64,{Base64(dicom, 76)})\">x</div>"), dicom);
        yield return Shape("text-data-uri-dicom", Text($"Here it is: data:application/dicom;base64,{Base64(dicom, 0)}\r\n\r\nThanks"), dicom);
        yield return Shape("html-data-uri-percent-encoded", Html($"<img src=\"data:image/png,{Percent(png)}\">"), png);
        yield return Shape("html-data-uri-percent-base64", Html($"<img src='data:image/jpeg;base64,{Base64(photo, 0).Replace("+", "%2B").Replace("/", "%2F").Replace("=", "%3D")}'>"), photo);
        yield return Shape("html-object-data-uri", Html($"<object type=\"image/jpeg\" data=\"data:image/jpeg;base64,{Base64(photo, 64)}\"></object>"), photo);

        yield return Shape("html-data-uri-colon-reference", Html($"<img src=\"data&#58;image/jpeg;base64,{Base64(pano, 0)}\">"), pano);
        // Outlook and Apple Mail send HTML quoted-printable: soft line breaks and =3D inside the URI.
        yield return Shape("html-quoted-printable-data-uri", Raw(Headers +
            "Content-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
            QuotedPrintable($"<html><body><img src=\"data:image/jpeg;base64,{Base64(photo, 0)}\"></body></html>") + "\r\n"), photo);
        yield return Shape("html-base64-part-data-uri", Raw(Headers +
            "Content-Type: text/html; charset=us-ascii\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Base64(Encoding.ASCII.GetBytes($"<html><body><img src=\"data:image/png;base64,{Base64(png, 0)}\"></body></html>"), 76) + "\r\n"), png);

        // 2. uuencode and yEnc blocks in text bodies.
        yield return Shape("text-uuencode-block", Text($"X-ray below.\r\n\r\nbegin 644 pano.jpg\r\n{Uuencode(pano)}`\r\nend\r\n\r\nRegards"), pano);
        yield return Shape("text-uuencode-base64-block", Text($"X-ray below.\r\n\r\nbegin-base64 644 pano.jpg\r\n{Base64(pano, 76)}\r\n====\r\n"), pano);
        yield return Shape("text-yenc-block", Raw(Headers +
            "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Base64([.. Encoding.ASCII.GetBytes("X-ray below.\r\n\r\n"), .. Yenc(dicom, "bitewing.dcm"), .. "Regards\r\n"u8], 76) + "\r\n"), dicom);
        yield return Shape("image-part-x-uuencode", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n" +
            "--b1\r\nContent-Type: image/jpeg; name=\"pano.jpg\"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n" +
            $"begin 644 pano.jpg\r\n{Uuencode(pano)}`\r\nend\r\n--b1--\r\n"), pano);

        // 3. Attached messages whatever their declared type.
        var inner = DentalCorpus.WithAttachments(("bitewing.dcm", dicom, "application/dicom")).ToBytes();
        yield return Shape("octet-stream-fwd-eml", Attachment("application/octet-stream; name=\"fwd.eml\"", "attachment; filename=\"fwd.eml\"", inner), dicom);
        yield return Shape("octet-stream-eml-no-name", Attachment("application/octet-stream", "attachment", inner), dicom);
        yield return Shape("text-plain-eml", Attachment("text/plain; name=\"forwarded.txt\"", "attachment", inner), dicom);
        yield return Shape("zip-with-eml", Attachment("application/zip; name=\"mail.zip\"", "attachment; filename=\"mail.zip\"", DentalCorpus.Zip(("fwd.eml", inner))), dicom);
        yield return Shape("tnef-with-eml", Attachment("application/ms-tnef; name=\"winmail.dat\"", "attachment; filename=\"winmail.dat\"", DentalCorpus.Tnef(("fwd.eml", inner))), dicom);
        yield return Shape("message-global", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nFYI\r\n" +
            "--b1\r\nContent-Type: message/global\r\n\r\n" + Encoding.ASCII.GetString(inner) + "\r\n--b1--\r\n"), dicom);
        var half = inner.Length / 2;
        yield return Shape("message-partial", Raw(Headers +
            "Content-Type: message/partial; id=\"frag-1@practice.example\"; number=1; total=2\r\n\r\n" + Encoding.ASCII.GetString(inner, 0, half) + "\r\n"),
            dicom[..Math.Min(dicom.Length, 256)]);
        yield return Shape("text-rfc822-headers-with-body", Raw(Headers +
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nUndeliverable.\r\n" +
            "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n" + Encoding.ASCII.GetString(inner) + "\r\n--b1--\r\n"), dicom);

        // 4. Ambiguous MIME: parsers read these differently.
        var dicomPart = "Content-Type: application/dicom; name=\"bitewing.dcm\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(dicom, 76) + "\r\n";
        var jpegPart = "Content-Type: image/jpeg; name=\"pano.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(pano, 76) + "\r\n";
        yield return Shape("two-boundary-parameters", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"aaa\"; boundary=\"bbb\"\r\n\r\n" +
            "--aaa\r\nContent-Type: text/plain\r\n\r\nHello\r\n--bbb\r\n" + dicomPart + "--bbb--\r\n--aaa\r\nContent-Type: text/plain\r\n\r\nBye\r\n" + dicomPart + "--aaa--\r\n"), dicom);
        yield return Shape("multipart-without-boundary", Raw(Headers +
            "Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nHello\r\n--x\r\n" + jpegPart + "--x--\r\n"), pano);
        yield return Shape("multipart-empty-boundary", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\nContent-Type: text/plain\r\n\r\nHello\r\n--\r\n" + jpegPart + "----\r\n"), pano);
        yield return Shape("image-after-closing-boundary", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1--\r\n" +
            "--b1\r\n" + jpegPart + "--b1--\r\n"), pano);
        yield return Shape("image-in-preamble", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\nThis is a multi-part message in MIME format.\r\n" + jpegPart +
            "--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1--\r\n"), pano);
        yield return Shape("base64-on-multipart", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Base64(Encoding.ASCII.GetBytes("--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\n" + dicomPart + "--b1--\r\n"), 76) + "\r\n"), dicom);
        yield return Shape("base64-on-message-rfc822", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nFYI\r\n" +
            "--b1\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(inner, 76) + "\r\n--b1--\r\n"), dicom);
        yield return Shape("duplicate-content-type", Raw(Headers +
            "Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\n" + jpegPart + "--b1--\r\n"), pano);
        yield return Shape("duplicate-transfer-encoding", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n" +
            "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(dicom, 76) + "\r\n--b1--\r\n"), dicom);
        yield return Shape("multipart-never-closed", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n--b1\r\n" + jpegPart), pano);
        yield return Shape("base64-padding-in-the-middle", Raw(Headers +
            "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nHello\r\n" +
            "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
            Base64(Encoding.ASCII.GetBytes("Dear colleague, notes attached\r\n"), 0) + "\r\n" + Base64(pano, 76) + "\r\n--b1--\r\n"), pano);
    }

    private static CorpusShape Shape(string name, byte[] message, params byte[][] images) => new(name, message, images);

    private static byte[] Raw(string message) => Encoding.ASCII.GetBytes(message.EndsWith("\r\n", StringComparison.Ordinal) ? message : message + "\r\n");

    private static byte[] Html(string html) => Raw(Headers +
        "Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nSee the HTML version.\r\n" +
        "--alt\r\nContent-Type: text/html; charset=us-ascii\r\n\r\n<html><body>" + html + "</body></html>\r\n--alt--\r\n");

    private static byte[] Text(string text) => Raw(Headers + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + text + "\r\n");

    private static byte[] Attachment(string contentType, string disposition, byte[] content) => Raw(Headers +
        "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nPlease see attached.\r\n" +
        $"--b1\r\nContent-Type: {contentType}\r\nContent-Disposition: {disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n" + Base64(content, 76) + "\r\n--b1--\r\n");

    /// <summary>Base64 folded into lines of <paramref name="lineLength"/> (0: one line).</summary>
    private static string Base64(byte[] data, int lineLength)
    {
        var text = Convert.ToBase64String(data);
        if (lineLength <= 0) return text;
        var sb = new StringBuilder();
        for (var i = 0; i < text.Length; i += lineLength)
        {
            if (i > 0) sb.Append("\r\n");
            sb.Append(text, i, Math.Min(lineLength, text.Length - i));
        }
        return sb.ToString();
    }

    /// <summary>Quoted-printable as mail clients write it: = and non-ASCII escaped, soft breaks at 76.</summary>
    private static string QuotedPrintable(string text)
    {
        var sb = new StringBuilder();
        var column = 0;
        foreach (var c in text)
        {
            var token = c == '=' || c > '~' ? $"={(int)c:X2}" : c.ToString();
            if (column + token.Length > 75)
            {
                sb.Append("=\r\n");
                column = 0;
            }
            sb.Append(token);
            column += token.Length;
        }
        return sb.ToString();
    }

    private static string Percent(byte[] data)
    {
        var sb = new StringBuilder(data.Length * 3);
        foreach (var b in data)
        {
            if (char.IsAsciiLetterOrDigit((char)b)) sb.Append((char)b);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    /// <summary>Classic uuencode body lines (45 bytes a line unless told; zero as a backquote or a space), without the begin and end lines.</summary>
    internal static string Uuencode(byte[] data, int perLine = 45, char zero = '`')
    {
        char C(int v) => v == 0 ? zero : (char)(v + 32);
        var sb = new StringBuilder();
        for (var i = 0; i < data.Length; i += perLine)
        {
            var n = Math.Min(perLine, data.Length - i);
            sb.Append(C(n));
            for (var j = 0; j < n; j += 3)
            {
                int b0 = data[i + j], b1 = j + 1 < n ? data[i + j + 1] : 0, b2 = j + 2 < n ? data[i + j + 2] : 0;
                sb.Append(C(b0 >> 2)).Append(C(((b0 << 4) | (b1 >> 4)) & 63)).Append(C(((b1 << 2) | (b2 >> 6)) & 63)).Append(C(b2 & 63));
            }
            sb.Append("\r\n");
        }
        return sb.ToString();
    }

    /// <summary>A whole yEnc block (=ybegin .. =yend), 128 characters a line.</summary>
    internal static byte[] Yenc(byte[] data, string name)
    {
        var s = new MemoryStream();
        s.Write(Encoding.ASCII.GetBytes($"=ybegin line=128 size={data.Length} name={name}\r\n"));
        var column = 0;
        foreach (var b in data)
        {
            var o = (byte)(b + 42);
            if (o is 0 or 0x0A or 0x0D or 0x3D || column == 0 && o is 0x2E or 0x09 or 0x20)
            {
                s.WriteByte((byte)'=');
                o = (byte)(o + 64);
                column++;
            }
            s.WriteByte(o);
            if (++column >= 128)
            {
                s.Write("\r\n"u8);
                column = 0;
            }
        }
        if (column > 0) s.Write("\r\n"u8);
        s.Write(Encoding.ASCII.GetBytes($"=yend size={data.Length} crc32={Crc32(data):x8}\r\n"));
        return s.ToArray();
    }

    internal static uint Crc32(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320u : crc >> 1;
        }
        return ~crc;
    }
}
