namespace PhiMailGateway.Tests.Inspection.FailClosed;

// Shapes inside files: PDF, Office documents, gzip, bzip2, xz, tar, 7z, rar.
public static partial class FailClosedCorpus
{
    public static IEnumerable<CorpusShape> ContainerShapes() => [];
}
