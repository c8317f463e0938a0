namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Shapes in the message's own text and structure: data: URIs, uuencode and yEnc blocks, attached
// messages whatever their declared type, ambiguous MIME.
public static partial class FailClosedCorpus
{
    public static IEnumerable<CorpusShape> MimeShapes() => [];
}
