using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Spool;

namespace PhiMailGateway.Protection;

/// <summary>
/// One message on its way through Protection: what the protectors read (the spooled message, its
/// headers, the findings, the subject tags to strip), the delivery id each new copy takes, and the
/// files they write. Only the Protection stage makes one, and it lives for one call: when a
/// protector fails, the stage removes every file listed here, so nothing half-made stays behind.
/// </summary>
public sealed class ProtectionWork(SpoolEntry message, MessageHeaders headers, InspectionReport report, IReadOnlyList<string> subjectTags,
    string deliveryIdPrefix)
{
    private readonly List<string> _generated = [];
    private int _copies;

    public SpoolEntry Message { get; } = message;
    public string QueueId => Message.QueueId;
    public MessageHeaders Headers { get; } = headers;
    public InspectionReport Report { get; } = report;
    public IReadOnlyList<string> SubjectTags { get; } = subjectTags;

    /// <summary>
    /// The delivery id of the next copy, in the order copies are made: <c>{QueueId}-1</c>, <c>-2</c>...
    /// when the message arrives, <c>{HoldId}-1</c>... when a held copy is released later.
    /// </summary>
    public string NextDeliveryId() => $"{deliveryIdPrefix}-{++_copies}";

    /// <summary>Call before writing the file, so a failure half-way through still removes it.</summary>
    public void AddGeneratedFile(string path) => _generated.Add(path);

    public void AddGeneratedFiles(IEnumerable<string> paths) => _generated.AddRange(paths);

    public IReadOnlyList<string> GeneratedFiles => _generated.ToArray();

    internal void DeleteGenerated()
    {
        foreach (var path in _generated) File.Delete(path);
    }
}

/// <summary>Protection's output: the copies to relay (each recipient in exactly one) and the files made for them.</summary>
/// <param name="GeneratedFiles">Files written for the copies (rewritten messages, envelopes, package blobs); removed if the message does not go out.</param>
public sealed record ProtectedCopies(IReadOnlyList<OutboundCopy> Copies, IReadOnlyList<string> GeneratedFiles);
