using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PhiMailGateway.Hosting;
using PhiMailGateway.Routing;

namespace PhiMailGateway.Cli;

/// <summary>
/// Splits the command line into the verb with its arguments and configuration overrides
/// (<c>--Section:Key=value</c>, which every verb accepts), then runs the verb.
/// Exit codes: 0 ok, 1 the verb failed (for example a check found a problem), 2 bad input or configuration.
/// </summary>
public static class GatewayCommandLine
{
    public static async Task<int> RunAsync(string[] args, TextReader? stdin = null, TextWriter? stdout = null, TextWriter? stderr = null)
    {
        stdin ??= Console.In;
        stdout ??= Console.Out;
        stderr ??= Console.Error;
        var (verbArgs, configArgs) = Split(args);
        var verb = verbArgs.Count == 0 ? "serve" : verbArgs[0];
        var rest = verbArgs.Skip(1).ToArray();
        try
        {
            return verb switch
            {
                "serve" => await ServeAsync(configArgs),
                "users" => await UsersCommand.RunAsync(rest, configArgs, stdin, stdout, stderr),
                "queue" => await QueueCommand.RunAsync(rest, configArgs, stdout, stderr),
                "pickup" => await PickupCommand.RunAsync(rest, configArgs, stdout, stderr),
                "help" or "--help" or "-h" => Usage(stdout, 0),
                _ => Usage(stderr, 2, $"Unknown verb '{verb}'."),
            };
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) await stderr.WriteLineAsync($"Configuration error: {failure}");
            return 2;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
        {
            // The binder's own message names the key, e.g. "Failed to convert configuration value at 'Smtp:Port'".
            await stderr.WriteLineAsync($"Configuration error: {e.Message}");
            return 2;
        }
    }

    private static async Task<int> ServeAsync(string[] configArgs)
    {
        using var host = GatewayHost.Build(configArgs);
        // Validate every section before starting, so a bad value is one clear line, not a host stack trace.
        CliContext.Validate(host.Services, CliSections.All);
        _ = host.Services.GetRequiredService<RuleSetProvider>();
        await host.RunAsync();
        return 0;
    }

    /// <summary>Tokens of the form <c>--A:B=v</c> or <c>--A:B v</c> are configuration; the rest belong to the verb.</summary>
    internal static (List<string> VerbArgs, string[] ConfigArgs) Split(string[] args)
    {
        var verbArgs = new List<string>();
        var configArgs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg.StartsWith("--", StringComparison.Ordinal) && arg.Contains(':', StringComparison.Ordinal))
            {
                configArgs.Add(arg);
                if (!arg.Contains('=', StringComparison.Ordinal) && i + 1 < args.Length) configArgs.Add(args[++i]);
            }
            else
            {
                verbArgs.Add(arg);
            }
        }
        return (verbArgs, configArgs.ToArray());
    }

    internal static int Usage(TextWriter writer, int exitCode, string? error = null)
    {
        if (error is not null) writer.WriteLine(error);
        writer.WriteLine("""
            Usage: PhiMailGateway [VERB] [--Section:Key=value ...]

              serve                       run the gateway (the default)
              users add NAME              add or update an SMTP user; password on stdin
              users list                  list SMTP users
              users remove NAME           remove an SMTP user
              queue list                  list queued messages and deliveries
              queue retry ID              retry a message or delivery now
              pickup list                 list pickup packages (secure links)
              pickup revoke ID            withdraw a pickup link now; deletes its content
            """);
        return exitCode;
    }
}
