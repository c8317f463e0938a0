using MimeKit;

namespace PhiMailGateway.Inspection;

// Files hidden in the text of a part (data: URIs, uuencode, yEnc) and messages attached under any
// declared type: each is inspected as an item of its own, anchored at the part that holds it, so
// protecting that part covers it.
public sealed partial class MessageInspector
{
    /// <summary>A scanner for the part's text, or null when the part is not text.</summary>
    private EmbeddedBlockScanner? StartEmbeddedScan(Walk walk, Item item, ReadOnlySpan<byte> head)
    {
        var declaredText = item.DeclaredType?.StartsWith("text/", StringComparison.OrdinalIgnoreCase) == true;
        if (!declaredText && !ContentSniffer.LooksLikeText(head)) return null;
        return new EmbeddedBlockScanner(Math.Max(0, _options.MaxEmbeddedItems - walk.EmbeddedItems), _options.MaxEmbeddedItemBytes);
    }

    private async Task InspectEmbeddedAsync(Walk walk, Item holder, EmbeddedBlockScanner scanner, int mimeDepth, CancellationToken ct)
    {
        walk.EmbeddedItems += scanner.Blocks.Count;
        if (scanner.TooMany)
        {
            walk.Findings.Add(FailClosed(holder.Anchor, holder.Path, holder.DeclaredType,
                $"more than {_options.MaxEmbeddedItems} items embedded in the text (Inspection:MaxEmbeddedItems)"));
        }
        var n = 0;
        foreach (var block in scanner.Blocks)
        {
            n++;
            var path = Append(holder.Path, $"{block.Kind} {n}");
            if (block.FailClosedReason is { } reason)
            {
                walk.Findings.Add(FailClosed(holder.Anchor, path, block.DeclaredType, reason, block.Content.Length));
                continue;
            }
            if (mimeDepth + 1 > _options.MaxMimeDepth)
            {
                walk.Findings.Add(FailClosed(holder.Anchor, path, block.DeclaredType, $"embedded items nested deeper than {_options.MaxMimeDepth} (Inspection:MaxMimeDepth)", block.Content.Length));
                continue;
            }
            var content = block.Content;
            var item = new Item(() => new MemoryStream(content, writable: false), null, block.DeclaredType, false, holder.Anchor, path);
            await InspectItemAsync(walk, item, null, 0, mimeDepth + 1, ct);
        }
    }

    /// <summary>
    /// An item whose bytes are a message (a .eml under any declared type, in a zip, in TNEF): parsed
    /// from its scratch copy and walked like message/rfc822, under the same depth bound.
    /// </summary>
    private async Task WalkEmbeddedMessageAsync(Walk walk, Item item, FileStream spill, int mimeDepth, CancellationToken ct)
    {
        var path = Append(item.Path, "attached message");
        if (mimeDepth + 1 > _options.MaxMimeDepth)
        {
            walk.Findings.Add(FailClosed(item.Anchor, path, item.DeclaredType, $"MIME nesting deeper than {_options.MaxMimeDepth} (Inspection:MaxMimeDepth)", spill.Length));
            return;
        }
        spill.Position = 0;
        MimeMessage message;
        try
        {
            message = await ParseAsync(walk, new NonClosingStream(spill), persistent: true, ct);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            walk.Findings.Add(FailClosed(item.Anchor, path, item.DeclaredType, $"attached message could not be parsed ({e.GetType().Name})", spill.Length));
            return;
        }
        using (message)
        {
            CollectCids(message.Body, walk, mimeDepth + 1);
            await WalkEntityAsync(walk, message.Body, "", item.Anchor, path, mimeDepth + 1, inner: true, ct);
        }
    }
}
