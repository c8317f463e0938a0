using PhiMailGateway.Inspection.Containers;

namespace PhiMailGateway.Inspection;

// PDF: every stream object of the file, used by a page or not. Image XObjects are classified by
// their declared size and colour space (and DCT/JPX ones also sniffed as the JPEG or JPEG 2000 file
// they are); every other stream is decoded and inspected as an item, which finds embedded files
// (a DICOM attached to a referral letter) whatever their dictionary says. Encrypted PDFs, streams
// we cannot decode and files we cannot parse fail closed.
public sealed partial class MessageInspector
{
    private async Task WalkPdfAsync(Walk walk, Item container, FileStream file, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        void Fail(string reason) => walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, reason, file.Length, "PDF"));

        if (file.Length > _options.MaxDocumentBytes)
        {
            Fail($"PDF larger than {_options.MaxDocumentBytes} bytes (Inspection:MaxDocumentBytes)");
            return;
        }
        var data = new byte[file.Length];
        file.Position = 0;
        await file.ReadExactlyAsync(data, ct);

        PdfObjects objects;
        try
        {
            objects = PdfObjects.Scan(data, _options.MaxPdfObjects);
            // Object streams hold the values that references (a /Width, an /EF entry) resolve to.
            foreach (var s in objects.Streams.Where(s => NameOf(s.Dictionary, "Type", objects) == "ObjStm").ToList())
                objects.AddFromObjectStream(DecodePdfStream(data, s, PdfFilters.Of(s.Dictionary, objects), budget, objects), s.Dictionary);
        }
        catch (Exception e) when (e is FormatException or ArchiveLimitException or NotSupportedException or InvalidDataException or IOException)
        {
            Fail(e is ArchiveLimitException ? e.Message : $"PDF could not be read ({e.Message})");
            return;
        }
        if (objects.Encrypted)
        {
            Fail("encrypted PDF: its content cannot be inspected");
            return;
        }
        if (objects.Count == 0)
        {
            Fail("PDF without readable objects");
            return;
        }

        foreach (var s in objects.Streams)
        {
            ct.ThrowIfCancellationRequested();
            var type = NameOf(s.Dictionary, "Type", objects);
            var embedded = type == "EmbeddedFile" || objects.EmbeddedFiles.Contains(s.Number);
            // Cross-reference streams are structure a viewer never shows (unless an /EF points at one).
            if (type == "ObjStm" || type == "XRef" && !embedded) continue;
            var path = Append(container.Path, embedded ? $"PDF object {s.Number} (embedded file)" : $"PDF object {s.Number}");
            try
            {
                var filters = PdfFilters.Of(s.Dictionary, objects);
                if (filters.Contains("Crypt")) throw new NotSupportedException("PDF stream uses a crypt filter");
                var isImage = NameOf(s.Dictionary, "Subtype", objects) == "Image";
                if (isImage) walk.Findings.Add(PdfImageFinding(container, path, s, filters, objects));
                var codec = filters.LastOrDefault(PdfFilters.ImageCodecs.Contains);
                if (codec is "JBIG2Decode" or "CCITTFaxDecode")
                {
                    // Bilevel fax codecs: only an image XObject may use them, and its size decided above.
                    if (!isImage) throw new NotSupportedException($"PDF filter {codec} outside an image");
                    continue;
                }
                if (codec is null && isImage) continue; // raw pixels: the declared size decided above
                if (codec is not null && filters[^1] != codec) throw new NotSupportedException($"PDF filter after {codec}");
                var general = codec is null ? filters : filters.Take(filters.Count - 1);
                if (codec is null && PdfFilters.HasPredictor(s.Dictionary, objects)) throw new NotSupportedException("PDF stream uses a predictor");
                var decoded = DecodePdfStream(data, s, general, budget, objects);
                await InspectPdfContentAsync(walk, container, decoded, path, keepAll: embedded, budget, depth, mimeDepth, ct);
                if (!embedded) AddInlineImages(walk, container, path, s.Number, decoded, objects);
            }
            catch (Exception e) when (e is FormatException or ArchiveLimitException or NotSupportedException or InvalidDataException or IOException)
            {
                walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, e is ArchiveLimitException ? e.Message : $"PDF stream could not be decoded ({e.Message})", s.DataLength, "PDF"));
            }
        }
    }

    /// <summary>Inline images of a content stream that count (small ones, such as glyphs of bitmap fonts, are left out).</summary>
    private void AddInlineImages(Walk walk, Item container, IReadOnlyList<string> path, int number, byte[] decoded, PdfObjects objects)
    {
        var n = 0;
        foreach (var (dictionary, length) in PdfInlineImages.Find(decoded))
        {
            var filters = PdfFilters.Of(dictionary, objects);
            var finding = PdfImageFinding(container, Append(path, $"inline image {++n}"), new PdfStreamObject(number, dictionary, 0, length), filters, objects);
            if (finding.IsProtected) walk.Findings.Add(finding);
        }
    }

    /// <summary>Decoded bytes of one stream, bounded by the budget, the document limit and the compression ratio.</summary>
    private byte[] DecodePdfStream(byte[] data, PdfStreamObject s, IEnumerable<string> filters, ArchiveBudget budget, PdfObjects objects)
    {
        if (s.DataOffset + (long)s.DataLength > data.Length) throw new FormatException("stream runs past the end of the file");
        var ratioLimit = Math.Max(RatioCheckMinBytes, (long)_options.MaxCompressionRatio * Math.Max(1, s.DataLength));
        var (limit, reason) = new[]
        {
            (budget.RemainingBytes, $"archive expands past {_options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)"),
            (_options.MaxDocumentBytes, $"PDF stream decodes past {_options.MaxDocumentBytes} bytes (Inspection:MaxDocumentBytes)"),
            (ratioLimit, $"compression ratio above {_options.MaxCompressionRatio} (Inspection:MaxCompressionRatio): a compression bomb"),
        }.MinBy(l => l.Item1);
        var decoded = PdfFilters.Decode(data.AsSpan(s.DataOffset, s.DataLength), filters, limit, reason);
        budget.RemainingBytes -= decoded.Length;
        return decoded;
    }

    /// <summary>Inspects decoded stream content as an item; of ordinary streams (page content, fonts) only what matters is kept.</summary>
    private async Task InspectPdfContentAsync(Walk walk, Item container, byte[] decoded, IReadOnlyList<string> path, bool keepAll, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        var inner = new Walk();
        var item = new Item(() => new MemoryStream(decoded, writable: false), null, null, false, container.Anchor, path);
        await InspectItemAsync(inner, item, budget, depth, mimeDepth, ct);
        walk.Findings.AddRange(keepAll ? inner.Findings : inner.Findings.Where(f => f.IsProtected || f.Kind != ImageKind.None));
    }

    /// <summary>An image XObject judged by its dictionary: unknown sizes never make it small (the classifier protects them).</summary>
    private InspectionFinding PdfImageFinding(Item container, IReadOnlyList<string> path, PdfStreamObject s, IReadOnlyList<string> filters, PdfObjects objects)
    {
        var d = s.Dictionary;
        int? Int(string key, string abbreviation) =>
            objects.Resolve(d.GetValueOrDefault(key) ?? d.GetValueOrDefault(abbreviation)) is double v && v is > 0 and < int.MaxValue ? (int)v : null;
        var mask = objects.Resolve(d.GetValueOrDefault("ImageMask") ?? d.GetValueOrDefault("IM")) is true;
        var (components, grayscale) = mask ? (1, true) : ColorSpaceComponents(objects.Resolve(d.GetValueOrDefault("ColorSpace") ?? d.GetValueOrDefault("CS")), objects);
        var sniff = new SniffResult
        {
            Family = ContentFamily.Raster, Format = $"PDF image ({filters.LastOrDefault() ?? "uncompressed"})",
            Width = Int("Width", "W"), Height = Int("Height", "H"), Components = components,
            BitDepth = mask ? 1 : Int("BitsPerComponent", "BPC"), Grayscale = grayscale,
        };
        var (kind, reason) = _classifier.Classify(sniff, s.DataLength, null, null, false);
        return new InspectionFinding
        {
            Kind = kind, Format = sniff.Format, Size = s.DataLength,
            Width = sniff.Width, Height = sniff.Height, Components = sniff.Components, BitDepth = sniff.BitDepth,
            Path = JoinPath(path), TopLevelPartIndex = container.Anchor.TopLevelPartIndex, PartSpecifier = container.Anchor.PartSpecifier,
            DeclaredContentType = container.DeclaredType, FailClosedReason = reason,
            IsProtected = reason is not null || _classifier.IsProtectedKind(kind),
        };
    }

    /// <summary>Components of a colour space, and whether it is one channel of intensity; nulls when unknown.</summary>
    private static (int? Components, bool? Grayscale) ColorSpaceComponents(object? space, PdfObjects objects)
    {
        for (var hops = 0; hops < 4; hops++)
        {
            switch (space)
            {
                case PdfName { Value: "DeviceGray" or "CalGray" or "G" }:
                    return (1, true);
                case PdfName { Value: "DeviceRGB" or "CalRGB" or "Lab" or "RGB" }:
                    return (3, false);
                case PdfName { Value: "DeviceCMYK" or "CMYK" }:
                    return (4, false);
                case List<object?> { Count: > 0 } list when objects.Resolve(list[0]) is PdfName family:
                    switch (family.Value)
                    {
                        case "ICCBased" when list.Count > 1 && objects.Resolve(list[1]) is Dictionary<string, object?> icc:
                            return objects.Resolve(icc.GetValueOrDefault("N")) is double n ? ((int)n, n == 1) : (null, null);
                        case "Indexed" or "I" when list.Count > 1:
                            space = objects.Resolve(list[1]);
                            continue;
                        case "Separation":
                            return (1, true);
                        case "DeviceN" when list.Count > 1 && objects.Resolve(list[1]) is List<object?> names:
                            return (names.Count, names.Count == 1);
                        case "CalGray":
                            return (1, true);
                        case "CalRGB" or "Lab":
                            return (3, false);
                    }
                    return (null, null);
                default:
                    return (null, null);
            }
        }
        return (null, null);
    }

    private static string? NameOf(Dictionary<string, object?> dict, string key, PdfObjects objects) =>
        objects.Resolve(dict.GetValueOrDefault(key)) is PdfName n ? n.Value : null;
}
