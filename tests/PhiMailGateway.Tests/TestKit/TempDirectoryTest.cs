namespace PhiMailGateway.Tests.TestKit;

/// <summary>Base for fixtures whose every test works in a fresh temp folder, <see cref="Dir"/>.</summary>
public abstract class TempDirectoryTest
{
    private TempDirectory? _temp;

    protected string Dir => _temp?.Path ?? throw new InvalidOperationException("Only inside a test.");

    [SetUp]
    public void CreateTempDirectory() => _temp = new TempDirectory();

    [TearDown]
    public void RemoveTempDirectory() => _temp?.Dispose();
}
