namespace PhiMailGateway.Cli;

internal static class QueueCommand
{
    public static Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr) =>
        Task.FromResult(GatewayCommandLine.Usage(stderr, 2, "queue: not implemented yet"));
}
