namespace PhiMailGateway.Tests.Inspection.FailClosed;

/// <summary>
/// One message that carries a dental image in a less common shape (issue: "fail closed on every
/// shape an image can take"). <see cref="Images"/> are the raw image bytes hidden in it: a scanner
/// at the smarthost looks for 64-byte slices of each in everything that arrives.
/// </summary>
/// <param name="Name">Short, unique, test-case name ("pdf-dct-xobject", "html-data-uri").</param>
/// <param name="Message">The whole message as the client submits it (CRLF line ends).</param>
/// <param name="Images">The image payloads inside it; none may reach the smarthost in the clear.</param>
public sealed record CorpusShape(string Name, byte[] Message, IReadOnlyList<byte[]> Images)
{
    public override string ToString() => Name;
}

/// <summary>
/// Every shape of the fail-closed corpus. Each area adds its shapes in a file of its own
/// (FailClosedCorpus.*.cs) so the inspection-level tests and the end-to-end scanner test share them.
/// </summary>
public static partial class FailClosedCorpus
{
    public static IEnumerable<CorpusShape> All() => [.. MimeShapes(), .. ContainerShapes()];
}
