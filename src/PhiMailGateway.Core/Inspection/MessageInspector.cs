using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using MimeKit;

namespace PhiMailGateway.Inspection;

/// <summary>
/// Walks one message and classifies every part: multipart trees, attached messages, TNEF
/// (winmail.dat), zip archives, inline images referenced by cid. Fails closed: whatever cannot be
/// inspected within the bounds of <see cref="InspectionOptions"/> becomes a finding that counts as a
/// dental image, and this method does not throw for bad input (only for cancellation).
/// <para>
/// Memory: each part is streamed once; only a prefix of <see cref="ContentSniffer.PrefixBytes"/> is
/// kept for sniffing and the rest is hashed as it passes. With a <see cref="FileStream"/> the message
/// is parsed with MimeKit's persistent mode, so attachments stay in the file. Zip and TNEF
/// containers are spilled to owner-only scratch files (deleted on close) because both need to seek.
/// TNEF attachments are held in memory by MimeKit while they are inspected.
/// </para>
/// </summary>
public sealed partial class MessageInspector
{
    private const int MaxHtmlBytesForCids = 4 << 20;

    static MessageInspector()
    {
        // MimeKit's TNEF reader decodes attachment names in the message's ANSI code page (usually
        // 1252). .NET only has those once the code-pages provider is registered; without it the
        // reader's type initializer fails for the life of the process.
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
    }

    private readonly InspectionOptions _options;
    private readonly DentalImageClassifier _classifier;
    private readonly string _scratchDirectory;

    /// <param name="options">Thresholds and bounds.</param>
    /// <param name="scratchDirectory">Where zip and TNEF containers are spilled; the system temp folder when null. Give it a folder inside the data directory in production, so PHI stays there.</param>
    public MessageInspector(InspectionOptions options, string? scratchDirectory = null)
    {
        _options = options;
        _classifier = new DentalImageClassifier(options);
        _scratchDirectory = scratchDirectory ?? Path.GetTempPath();
    }

    public async Task<InspectionReport> InspectAsync(Stream message, CancellationToken cancellationToken)
    {
        var walk = new Walk();
        MimeMessage mime;
        try
        {
            mime = await ParseAsync(walk, message, persistent: message is FileStream, cancellationToken);
        }
        catch (Exception e) when (e is FormatException or IOException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return Unreadable($"the message could not be parsed as MIME ({e.GetType().Name})");
        }

        using (mime)
        {
            try
            {
                CollectCids(mime.Body, walk, 0);
                await WalkEntityAsync(walk, mime.Body, "", new Anchor(0, "1"), [], 0, inner: false, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                throw;
            }
            catch (Exception e)
            {
                // Defence in depth: the walk handles bad parts itself, but nothing may turn into "no dental image".
                walk.Findings.Add(FailClosed(new Anchor(0, "1"), ["message"], null, $"inspection failed ({e.GetType().Name})"));
            }
            return new InspectionReport { Findings = walk.Findings.ToArray() };
        }
    }

    /// <summary>A report for a message MimeKit cannot parse at all: one finding that fails closed.</summary>
    public static InspectionReport Unreadable(string reason) => new()
    {
        Findings = [FailClosed(new Anchor(0, "1"), ["message"], null, reason)],
    };

    private sealed class Walk
    {
        public List<InspectionFinding> Findings { get; } = [];
        public HashSet<string> ReferencedCids { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>Where the parser saw each entity end, to tell a closed multipart from a truncated one.</summary>
        public Dictionary<MimeEntity, long> EntityEnds { get; } = new(ReferenceEqualityComparer.Instance);

        /// <summary>Items found in the text of parts so far (<see cref="InspectionOptions.MaxEmbeddedItems"/>).</summary>
        public int EmbeddedItems { get; set; }
    }

    /// <summary>The entity of the outer message that holds a finding (see <see cref="InspectionFinding.PartSpecifier"/>).</summary>
    private readonly record struct Anchor(int TopLevelPartIndex, string PartSpecifier);

    /// <summary>Per attachment: the archive budget shared by every zip nested inside it.</summary>
    private sealed class ArchiveBudget(InspectionOptions options)
    {
        public int Entries { get; set; }
        public long RemainingBytes { get; set; } = options.MaxTotalUncompressedBytes;
    }

    private sealed record Item(
        Func<Stream> Open, string? FileName, string? DeclaredType, bool ReferencedByCid, Anchor Anchor, IReadOnlyList<string> Path);

    private static string JoinPath(IReadOnlyList<string> path) => string.Join(" > ", path);

    private static IReadOnlyList<string> Append(IReadOnlyList<string> path, string segment) => [.. path, segment];

    [GeneratedRegex(@"cid:([^""'\s>)]+)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CidReference();

    /// <summary>Content-IDs referenced from HTML bodies anywhere in the message (a decoration must be one of them).</summary>
    private void CollectCids(MimeEntity? entity, Walk walk, int depth)
    {
        if (entity is null || depth > _options.MaxMimeDepth) return;
        switch (entity)
        {
            case Multipart multipart:
                foreach (var child in multipart) CollectCids(child, walk, depth + 1);
                break;
            case MessagePart { Message: { } inner }:
                CollectCids(inner.Body, walk, depth + 1);
                break;
            case TextPart text when text.IsHtml && text.Content is not null:
                using (var stream = text.Content.Open())
                {
                    var buffer = ArrayPool<byte>.Shared.Rent(MaxHtmlBytesForCids);
                    try
                    {
                        var read = stream.ReadAtLeast(buffer.AsSpan(0, MaxHtmlBytesForCids), MaxHtmlBytesForCids, throwOnEndOfStream: false);
                        // cid: references are ASCII in any ASCII-compatible charset.
                        foreach (Match match in CidReference().Matches(Encoding.Latin1.GetString(buffer, 0, read)))
                            walk.ReferencedCids.Add(Uri.UnescapeDataString(match.Groups[1].Value));
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
                break;
        }
    }

    /// <param name="inner">True inside an attached message: the anchor then stays on the outer message's entity.</param>
    private async Task WalkEntityAsync(Walk walk, MimeEntity? entity, string specifier, Anchor anchor, IReadOnlyList<string> path, int depth, bool inner, CancellationToken ct)
    {
        if (entity is null) return;
        var number = specifier.Length == 0 ? "1" : specifier;
        if (depth > _options.MaxMimeDepth)
        {
            walk.Findings.Add(FailClosed(anchor, Append(path, "..."), entity.ContentType.MimeType, $"MIME nesting deeper than {_options.MaxMimeDepth} (Inspection:MaxMimeDepth)"));
            return;
        }
        var here = inner ? anchor : new Anchor(anchor.TopLevelPartIndex, number);
        if (CheckStructure(walk, entity, here, path, number)) return;
        switch (entity)
        {
            case Multipart multipart:
                for (var i = 0; i < multipart.Count; i++)
                {
                    var childSpecifier = specifier.Length == 0 ? $"{i + 1}" : $"{specifier}.{i + 1}";
                    var childAnchor = inner ? anchor : new Anchor(specifier.Length == 0 && depth == 0 ? i : anchor.TopLevelPartIndex, childSpecifier);
                    await WalkEntityAsync(walk, multipart[i], childSpecifier, childAnchor, path, depth + 1, inner, ct);
                }
                break;

            case MessagePart messagePart:
                var messagePath = Append(path, $"part {number} (attached message)");
                walk.Findings.Add(new InspectionFinding
                {
                    Kind = ImageKind.None, Format = "Message", Size = 0, Path = JoinPath(messagePath),
                    TopLevelPartIndex = here.TopLevelPartIndex, PartSpecifier = here.PartSpecifier,
                    DeclaredContentType = messagePart.ContentType.MimeType, IsProtected = false,
                });
                await WalkEntityAsync(walk, messagePart.Message?.Body, "", here, messagePath, depth + 1, inner: true, ct);
                break;

            case MimePart part:
                var leafPath = Append(path, part.FileName is { Length: > 0 } name ? $"part {number} ({name})" : $"part {number}");
                if (part.ContentType.IsMimeType("multipart", "*") || part.ContentType.IsMimeType("message", "rfc822"))
                {
                    // MimeKit stopped descending at its depth limit and left the rest as one opaque part.
                    walk.Findings.Add(FailClosed(here, leafPath, part.ContentType.MimeType, $"MIME nesting deeper than {_options.MaxMimeDepth} (Inspection:MaxMimeDepth)"));
                    return;
                }
                if (part.Content is null)
                {
                    walk.Findings.Add(new InspectionFinding
                    {
                        Kind = ImageKind.None, Format = "Empty", Size = 0, Path = JoinPath(leafPath),
                        TopLevelPartIndex = here.TopLevelPartIndex, PartSpecifier = here.PartSpecifier,
                        DeclaredContentType = part.ContentType.MimeType, IsProtected = false,
                    });
                    return;
                }
                var referenced = part.ContentId is { } cid && walk.ReferencedCids.Contains(cid);
                var content = part.Content;
                var item = new Item(() => MimePartDecoder.Open(part, content), part.FileName, part.ContentType.MimeType, referenced, here, leafPath);
                await InspectItemAsync(walk, item, null, 0, depth, ct);
                break;

            default:
                walk.Findings.Add(FailClosed(here, Append(path, $"part {number}"), entity.ContentType.MimeType, $"unsupported MIME entity {entity.GetType().Name}"));
                break;
        }
    }
}
