using Microsoft.Extensions.Logging;
using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Pickup: the protected content stays at the gateway, encrypted, and each recipient gets the mail
/// with a link of their own instead (one package, one token, one copy per recipient, so a link
/// proves one address and a revocation hits one person). With <see cref="PickupScope.Attachments"/>
/// the parts that hold a dental image move into the package and the rest of the message goes as
/// written; with <see cref="PickupScope.WholeMessage"/>, or when a rule chose Pickup for a message
/// without any (a <c>[secure]</c> subject), the whole message goes into the package.
/// </summary>
public sealed partial class PickupProtector(
    PickupPackageStore store,
    OutboundMessageWriter writer,
    PickupOptions options,
    ILogger<PickupProtector> logger) : IProtector
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    public RoutingAction Action => RoutingAction.Pickup;

    public async Task<IReadOnlyList<OutboundCopy>> ProtectAsync(ProtectionWork work, IReadOnlyList<RoutingDecision> recipients, CancellationToken cancellationToken)
    {
        var copies = new List<OutboundCopy>();
        foreach (var decision in recipients)
        {
            // Parsed again per recipient: cheap (content stays on disk) and each copy starts from the original.
            await using var loaded = await OutboundMessageWriter.LoadAsync(work.Message, cancellationToken);
            var message = loaded.Message;
            OutboundMessageWriter.PrepareHeaders(message, work.SubjectTags);
            var sender = message.From.Mailboxes.FirstOrDefault()?.ToString() ?? work.Message.Envelope.Sender;

            var moved = options.Scope == PickupScope.Attachments ? ProtectedEntities(message, work.Report) : [];
            var whole = moved.Count == 0;
            var tnefBodies = new List<TextPart>();
            // A winmail.dat opens only in Outlook: the package offers the files inside it instead.
            if (whole) TnefUnpacker.UnpackAll(message);
            var sources = whole ? [WholeMessageSource(message)] : Sources(moved, work.Report, tnefBodies);
            var package = await store.CreateAsync(work.QueueId, decision.Recipient, sender,
                whole ? PickupScope.WholeMessage : PickupScope.Attachments, sources, cancellationToken,
                new PickupLabel(message.MessageId, message.Subject));
            // Removed again if the message does not go out after all (deferred or held).
            work.AddGeneratedFiles(package.BlobPaths);

            var link = $"{options.PublicBaseUrl}/p/{package.Token}";
            var notice = whole
                ? NoticeOnly(message, PickupNotice.Build(options, package.FileCount, link, package.ExpiresAt, restOfMessageFollows: false))
                : WithoutProtectedParts(message, moved, tnefBodies, PickupNotice.Build(options, package.FileCount, link, package.ExpiresAt, restOfMessageFollows: true));
            var content = await writer.WriteAsync(work, notice, "pickup-" + package.PackageId, cancellationToken);
            copies.Add(new OutboundCopy(work.NextDeliveryId(), [decision.Recipient], content, Action.ToString(), decision.Rule?.Name, RequireTls: false,
                Reference: package.PackageId));
            LogPackaged(logger, work.QueueId, package.PackageId, package.FileCount, whole ? PickupScope.WholeMessage : PickupScope.Attachments);
        }
        return copies;
    }

    /// <summary>The entities named by protected findings, each with its parent (null for the message body itself).</summary>
    internal static List<(MimeEntity Entity, Multipart? Parent, string Specifier)> ProtectedEntities(MimeMessage message, InspectionReport report)
    {
        var wanted = report.Findings.Where(f => f.IsProtected).Select(f => f.PartSpecifier).ToHashSet(StringComparer.Ordinal);
        var found = new List<(MimeEntity, Multipart?, string)>();
        if (wanted.Count == 0) return found;
        // Content outside every part or an ambiguous structure: no part can be cut out, so all of it goes.
        if (wanted.Contains(InspectionFinding.WholeMessageSpecifier)) return found;
        using var iterator = new MimeIterator(message);
        while (iterator.MoveNext())
        {
            if (!wanted.Contains(iterator.PathSpecifier)) continue;
            if (found.Any(f => iterator.PathSpecifier.StartsWith(f.Item3 + ".", StringComparison.Ordinal))) continue; // inside one already moved
            found.Add((iterator.Current, iterator.Parent as Multipart, iterator.PathSpecifier));
        }
        if (found.Count != wanted.Count(w => !found.Any(f => w.StartsWith(f.Item3 + ".", StringComparison.Ordinal))))
        {
            // A finding we cannot place in the tree: fail closed by packaging the whole message.
            return [];
        }
        return found;
    }

    /// <param name="tnefBodies">Receives the bodies of the winmail.dat files that were unpacked, for the mail that stays.</param>
    private static List<PackageSource> Sources(List<(MimeEntity Entity, Multipart? Parent, string Specifier)> moved, InspectionReport report, List<TextPart> tnefBodies)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var sources = new List<PackageSource>();
        var n = 0;
        foreach (var (entity, _, specifier) in moved)
        {
            n++;
            var leaf = report.Findings.FirstOrDefault(f => f.PartSpecifier == specifier && f.DeclaredContentType is not null);
            switch (entity)
            {
                case MessagePart attached:
                    sources.Add(new PackageSource(Unique(names, PickupFileName.Safe(null, n, ".eml")), "message/rfc822",
                        (s, ct) => attached.Message is { } inner ? inner.WriteToAsync(CrLf, s, ct) : Task.CompletedTask));
                    break;
                case MimePart tnefPart when TnefUnpacker.TryUnpack(tnefPart) is { } tnef:
                    for (var i = 0; i < tnef.Attachments.Count; i++)
                    {
                        var file = tnef.Attachments[i];
                        sources.Add(new PackageSource(Unique(names, PickupFileName.Safe(file.FileName, n + i, "")), file.ContentType.MimeType,
                            (s, ct) => file.Content!.DecodeToAsync(s, ct)));
                    }
                    if (tnef.Body is { } tnefBody) tnefBodies.Add(tnefBody);
                    break;
                case MimePart part:
                    var type = leaf?.Format switch
                    {
                        "JPEG" => "image/jpeg",
                        "PNG" => "image/png",
                        _ => part.ContentType.MimeType.ToLowerInvariant(),
                    };
                    sources.Add(new PackageSource(Unique(names, PickupFileName.Safe(part.FileName ?? part.ContentType.Name, n, Extension(leaf?.Format))), type,
                        (s, ct) => MimePartDecoder.DecodeToAsync(part, s, ct),
                        leaf is { Sha256: { } sha256 } ? (leaf.Size, sha256) : null));
                    break;
                default:
                    sources.Add(new PackageSource(Unique(names, PickupFileName.Safe(null, n, ".eml")), "message/rfc822",
                        (s, ct) => entity.WriteToAsync(CrLf, s, ct)));
                    break;
            }
        }
        return sources;
    }

    private static PackageSource WholeMessageSource(MimeMessage message) =>
        new("message.eml", "message/rfc822", (s, ct) => message.WriteToAsync(CrLf, s, ct));

    /// <summary>Attachments scope: the protected parts go, the notice comes first, the rest follows as written.</summary>
    private static MimeMessage WithoutProtectedParts(MimeMessage message, List<(MimeEntity Entity, Multipart? Parent, string Specifier)> moved,
        List<TextPart> tnefBodies, MimeEntity notice)
    {
        var bodyRemoved = false;
        foreach (var (entity, parent, _) in moved)
        {
            if (parent is null) bodyRemoved = true;
            else parent.Remove(entity);
        }
        if (bodyRemoved) message.Body = null;
        // Only a moved part with a Content-ID can leave a broken cid: picture; others skip the HTML pass.
        if (moved.Any(m => HasContentId(m.Entity))) InlineImagePlaceholder.ReplaceMissing(message);
        // Outlook in rich-text mode writes the message's only readable text into winmail.dat: it stays with the mail.
        if (tnefBodies.Count > 0 && !TnefUnpacker.HasReadableBody(message)) TnefUnpacker.AddBody(message, tnefBodies[0]);
        message.Body = message.Body is null ? notice : new Multipart("mixed") { notice, message.Body };
        return message;
    }

    private static bool HasContentId(MimeEntity entity) =>
        entity.ContentId is { Length: > 0 } || entity is Multipart multipart && multipart.Any(HasContentId);

    /// <summary>WholeMessage scope: a new message that keeps only the addressing; the subject is generic too.</summary>
    private MimeMessage NoticeOnly(MimeMessage original, MimeEntity notice)
    {
        var message = new MimeMessage();
        message.From.AddRange(original.From);
        message.ReplyTo.AddRange(original.ReplyTo);
        message.To.AddRange(original.To);
        message.Cc.AddRange(original.Cc);
        message.Subject = $"Secure message from {options.PracticeName}";
        message.Date = DateTimeOffset.UtcNow;
        message.MessageId = MimeKit.Utils.MimeUtils.GenerateMessageId();
        message.Body = notice;
        return message;
    }

    private static string Extension(string? format) => format switch
    {
        "JPEG" => ".jpg",
        "PNG" => ".png",
        "DICOM" => ".dcm",
        "TIFF" => ".tif",
        "ZIP" => ".zip",
        "TNEF" => ".dat",
        _ when format?.StartsWith("STL", StringComparison.Ordinal) == true => ".stl",
        _ => ".bin",
    };

    private static string Unique(HashSet<string> names, string name)
    {
        var candidate = name;
        for (var i = 2; !names.Add(candidate); i++)
            candidate = $"{Path.GetFileNameWithoutExtension(name)} ({i}){Path.GetExtension(name)}";
        return candidate;
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "{QueueId}: pickup package {PackageId} created with {FileCount} files ({Scope})")]
    private static partial void LogPackaged(ILogger logger, string queueId, string packageId, int fileCount, PickupScope scope);
}
