namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Decoders for shapes inside files: PDF streams, bzip2, xz, tar, 7z, rar.
public static partial class ImageSliceScanner
{
    private static IEnumerable<Decoder> ContainerDecoders() => [];
}
