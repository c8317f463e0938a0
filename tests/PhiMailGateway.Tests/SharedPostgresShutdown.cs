using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests;

/// <summary>
/// Stops the shared PostgreSQL test cluster after the last test of the assembly, if any test
/// started it. In the root namespace, so that it runs after every fixture that may use the
/// cluster, whatever folder that fixture is in.
/// </summary>
[SetUpFixture]
public sealed class SharedPostgresShutdown
{
    [OneTimeTearDown]
    public Task StopAsync() => PostgresCluster.StopSharedAsync();
}
