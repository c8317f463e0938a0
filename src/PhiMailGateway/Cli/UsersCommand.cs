namespace PhiMailGateway.Cli;

internal static class UsersCommand
{
    // TODO(helper: users): users add/list/remove.
    public static Task<int> RunAsync(string[] args, string[] configArgs, TextReader stdin, TextWriter stdout, TextWriter stderr) =>
        Task.FromResult(GatewayCommandLine.Usage(stderr, 2, "users: not implemented yet"));
}
