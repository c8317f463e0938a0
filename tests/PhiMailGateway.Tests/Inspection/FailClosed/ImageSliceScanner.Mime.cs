namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Decoders for shapes in the message's text: data: URIs, uuencode, yEnc.
public static partial class ImageSliceScanner
{
    private static IEnumerable<Decoder> MimeDecoders() => [];
}
