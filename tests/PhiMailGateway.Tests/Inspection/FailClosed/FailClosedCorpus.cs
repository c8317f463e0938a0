using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Inspection.FailClosed;

/// <summary>
/// One message that carries a dental image in a less common shape (issue: "fail closed on every
/// shape an image can take"). <see cref="Images"/> are the raw image bytes hidden in it: a scanner
/// at the smarthost looks for 64-byte slices of each in everything that arrives.
/// </summary>
/// <param name="Name">Short, unique, test-case name ("pdf-dct-xobject", "html-data-uri"); also the recipient's local part.</param>
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
    public static IEnumerable<CorpusShape> All() => [.. Baseline(), .. MimeShapes(), .. ContainerShapes()];

    /// <summary>The everyday shape, as a yardstick for the others: a DICOM file attached as itself.</summary>
    private static IEnumerable<CorpusShape> Baseline()
    {
        var dicom = DentalCorpus.Dicom();
        yield return new CorpusShape("dicom-attachment", Wire(DentalCorpus.WithAttachments(("bitewing.dcm", dicom, "application/dicom"))), [dicom]);
    }

    /// <summary>A message as a client puts it on the wire: CRLF line ends, ending in CRLF.</summary>
    public static byte[] Wire(MimeKit.MimeMessage message)
    {
        using var s = new MemoryStream();
        message.WriteTo(new MimeKit.FormatOptions { NewLineFormat = MimeKit.NewLineFormat.Dos }, s);
        if (s.Length < 2 || s.GetBuffer()[s.Length - 1] != '\n') s.Write("\r\n"u8);
        return s.ToArray();
    }
}
