using System.Text.RegularExpressions;
using MimeKit;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Protection;

/// <summary>
/// Builds outbound copies that differ from the received message. Every copy loses the Bcc header
/// (a Bcc recipient must never be visible in anyone's copy) and the subject tags that triggered
/// rules. The message is parsed with its content left on disk (MimeKit's persistent mode), so a
/// 30 MB attachment is streamed from the spool, not held in memory.
/// </summary>
public sealed class OutboundMessageWriter(SpoolDirectory spool)
{
    private static readonly FormatOptions CrLf = new() { NewLineFormat = NewLineFormat.Dos };

    /// <summary>Whether the original bytes can go out as they are (no Bcc header, no subject tag).</summary>
    public static bool CanRelayUnchanged(ProtectionWork work) =>
        !work.Headers.HasBccHeader && !work.Headers.SubjectHasAnyTag(work.SubjectTags);

    /// <summary>
    /// Parses the queued message for one protector, which owns the result (and may change it):
    /// dispose it when the copy is written. Content stays on disk, so a parse is cheap.
    /// </summary>
    public static async Task<LoadedMessage> LoadAsync(SpoolEntry message, CancellationToken cancellationToken)
    {
        var stream = message.OpenMessage();
        try
        {
            var parsed = await MimeMessage.LoadAsync(stream, persistent: true, cancellationToken);
            return new LoadedMessage(parsed, stream);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Removes Bcc headers and rule-triggering subject tags.</summary>
    public static void PrepareHeaders(MimeMessage message, IReadOnlyList<string> subjectTags)
    {
        message.Headers.RemoveAll(HeaderId.Bcc);
        message.Headers.RemoveAll(HeaderId.ResentBcc);
        if (message.Subject is { } subject && subjectTags.Any(t => subject.Contains(t, StringComparison.OrdinalIgnoreCase)))
            message.Subject = StripTags(subject, subjectTags);
    }

    public static string StripTags(string subject, IReadOnlyList<string> tags)
    {
        foreach (var tag in tags)
            subject = Regex.Replace(subject, Regex.Escape(tag), "", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        return Regex.Replace(subject, @"\s{2,}", " ").Trim();
    }

    /// <summary>Writes a copy into <c>spool/outbound</c>, flushed to disk, and lists it with the work.</summary>
    public async Task<OutboundContent> WriteAsync(ProtectionWork work, MimeMessage message, string name, CancellationToken cancellationToken)
    {
        var path = Path.Combine(spool.Outbound, $"{work.QueueId}-{name}.eml");
        work.AddGeneratedFile(path);
        await using (var file = OwnerOnly.CreateNew(path))
        {
            await message.WriteToAsync(CrLf, file, cancellationToken);
            file.Flush(flushToDisk: true);
        }
        return new OutboundContent(path, 0);
    }
}

/// <summary>A parsed message whose content still reads from the spool file.</summary>
public sealed class LoadedMessage(MimeMessage message, Stream source) : IAsyncDisposable
{
    public MimeMessage Message { get; } = message;

    public async ValueTask DisposeAsync()
    {
        Message.Dispose();
        await source.DisposeAsync();
    }
}
