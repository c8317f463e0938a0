namespace PhiMailGateway.Bench.Micro;

public static class MicroMode
{
    public static Task<int> RunAsync(BenchArgs args) => Task.FromResult(0);
}
