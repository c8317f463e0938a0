using System.IO.Compression;
using MimeKit;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

/// <summary>
/// What an eavesdropper at the smarthost could recover: looks for 64-byte slices of each image in
/// a message as it arrived, and in everything that can be decoded out of it (MIME parts after
/// base64/quoted-printable, attached messages, zip entries, gzip, and what the decoders of each
/// area add: data: URIs, uuencode, yEnc, PDF streams, other archives). Independent of the
/// gateway's own inspection code on purpose: it must find what inspection misses.
/// </summary>
public static partial class ImageSliceScanner
{
    public const int SliceBytes = 64;
    private const int MaxDepth = 10;
    private const long MaxBlobBytes = 256L << 20;

    /// <summary>One step of decoding: the blobs hidden in <c>blob</c>, or nothing when the decoder does not apply.</summary>
    public delegate IEnumerable<byte[]> Decoder(byte[] blob);

    private static IEnumerable<Decoder> AllDecoders() => [Mime, Zip, Gzip, .. MimeDecoders(), .. ContainerDecoders()];

    /// <summary>Indexes of the images of which at least one 64-byte slice was found.</summary>
    public static IReadOnlySet<int> FindImages(IEnumerable<byte[]> received, IReadOnlyList<byte[]> images)
    {
        var found = new HashSet<int>();
        var seen = new HashSet<string>();
        var work = new Queue<(byte[] Blob, int Depth)>(received.Select(r => (r, 0)));
        long total = 0;
        while (work.Count > 0 && found.Count < images.Count)
        {
            var (blob, depth) = work.Dequeue();
            if (blob.Length < SliceBytes || !seen.Add(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(blob)))) continue;
            total += blob.Length;
            if (total > MaxBlobBytes) break;
            for (var i = 0; i < images.Count; i++)
            {
                if (!found.Contains(i) && ContainsSliceOf(blob, images[i])) found.Add(i);
            }
            if (depth >= MaxDepth) continue;
            foreach (var decoder in AllDecoders())
            {
                IEnumerable<byte[]> children;
                try
                {
                    children = decoder(blob).ToList();
                }
                catch (Exception)
                {
                    continue; // a decoder that does not apply to this blob
                }
                foreach (var child in children) work.Enqueue((child, depth + 1));
            }
        }
        return found;
    }

    /// <summary>Any slice of the image at a multiple of 64 bytes (the image's first and last slices included).</summary>
    public static bool ContainsSliceOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> image)
    {
        if (image.Length < SliceBytes) return haystack.IndexOf(image) >= 0;
        for (var offset = 0; offset + SliceBytes <= image.Length; offset += SliceBytes)
        {
            if (haystack.IndexOf(image.Slice(offset, SliceBytes)) >= 0) return true;
        }
        return haystack.IndexOf(image[^SliceBytes..]) >= 0;
    }

    /// <summary>Every leaf of a MIME message, decoded; attached messages come back whole (and are parsed again).</summary>
    private static IEnumerable<byte[]> Mime(byte[] blob)
    {
        if (!LooksLikeHeaders(blob)) yield break;
        var message = MimeMessage.Load(new MemoryStream(blob));
        foreach (var entity in message.BodyParts.Concat(Epilogues(message.Body)))
        {
            switch (entity)
            {
                case MessagePart { Message: { } inner }:
                    using (var s = new MemoryStream()) { inner.WriteTo(s); yield return s.ToArray(); }
                    break;
                case MimePart { Content: { } content }:
                    using (var s = new MemoryStream()) { content.DecodeTo(s); yield return s.ToArray(); }
                    using (var s = new MemoryStream()) { content.WriteTo(s); yield return s.ToArray(); }
                    break;
            }
        }
    }

    private static IEnumerable<MimeEntity> Epilogues(MimeEntity? body)
    {
        // Preambles and epilogues are text the parser keeps aside; feed them back as parts of their own.
        if (body is not Multipart multipart) yield break;
        foreach (var text in new[] { multipart.Preamble, multipart.Epilogue })
        {
            if (string.IsNullOrEmpty(text)) continue;
            yield return new MimePart("application", "octet-stream") { Content = new MimeContent(new MemoryStream(System.Text.Encoding.Latin1.GetBytes(text))) };
        }
        foreach (var child in multipart)
        {
            foreach (var inner in Epilogues(child)) yield return inner;
        }
    }

    private static bool LooksLikeHeaders(byte[] blob)
    {
        var colon = Array.IndexOf(blob, (byte)':', 0, Math.Min(blob.Length, 200));
        if (colon <= 0) return false;
        for (var i = 0; i < colon; i++)
        {
            if (blob[i] is <= 32 or >= 127) return false;
        }
        return true;
    }

    private static IEnumerable<byte[]> Zip(byte[] blob)
    {
        if (blob.Length < 4 || blob[0] != 'P' || blob[1] != 'K') yield break;
        using var zip = new ZipArchive(new MemoryStream(blob), ZipArchiveMode.Read);
        foreach (var entry in zip.Entries)
        {
            using var s = new MemoryStream();
            using (var e = entry.Open()) e.CopyTo(s);
            yield return s.ToArray();
        }
    }

    private static IEnumerable<byte[]> Gzip(byte[] blob)
    {
        if (blob.Length < 2 || blob[0] != 0x1F || blob[1] != 0x8B) yield break;
        using var s = new MemoryStream();
        using (var g = new GZipStream(new MemoryStream(blob), CompressionMode.Decompress)) g.CopyTo(s);
        yield return s.ToArray();
    }
}
