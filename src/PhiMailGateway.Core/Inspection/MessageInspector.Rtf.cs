namespace PhiMailGateway.Inspection;

// RTF: pictures (\pict) hold PNG or JPEG files as hex; those are decoded and inspected. Other
// picture formats (metafiles, device-independent bitmaps), binary runs (\bin) and embedded objects
// (\objdata, OLE packages that can carry any file) are not decoded and fail closed.
public sealed partial class MessageInspector
{
    private async Task WalkRtfAsync(Walk walk, Item container, FileStream file, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        if (file.Length > _options.MaxDocumentBytes)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"RTF larger than {_options.MaxDocumentBytes} bytes (Inspection:MaxDocumentBytes)", file.Length, "RTF"));
            return;
        }
        var data = new byte[file.Length];
        file.Position = 0;
        await file.ReadExactlyAsync(data, ct);
        var pictures = Containers.RtfPictures.Find(data, out var failure);
        if (failure is not null)
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, failure, file.Length, "RTF"));
        var n = 0;
        foreach (var picture in pictures)
        {
            ct.ThrowIfCancellationRequested();
            n++;
            if (++budget.Entries > _options.MaxArchiveEntries)
            {
                walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive has more than {_options.MaxArchiveEntries} entries (Inspection:MaxArchiveEntries)", file.Length, "RTF"));
                return;
            }
            budget.RemainingBytes -= picture.Length;
            if (budget.RemainingBytes < 0)
            {
                walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive expands past {_options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)", file.Length, "RTF"));
                return;
            }
            var bytes = picture;
            var item = new Item(() => new MemoryStream(bytes, writable: false), null, null, false, container.Anchor, Append(container.Path, $"RTF picture {n}"));
            await InspectItemAsync(walk, item, budget, depth, mimeDepth, ct);
        }
    }
}
