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
        if (TakeConfigFile(verbArgs) is { } configFile)
        {
            // Same effect as PHIMAIL_CONFIG, for this run only: e.g. dry-run a candidate rules file.
            if (!File.Exists(configFile)) return Usage(stderr, 2, $"--config: file '{configFile}' does not exist.");
            Environment.SetEnvironmentVariable(GatewayConfiguration.ConfigFileVariable, Path.GetFullPath(configFile));
        }
        var verb = verbArgs.Count == 0 ? "serve" : verbArgs[0];
        var rest = verbArgs.Skip(1).ToArray();
        if (rest.Any(a => a is "--help" or "-h") && VerbUsage(verb) is { } help)
        {
            // Before anything runs: `serve --help` must not start the gateway, nor `users add --help` create a user.
            await stdout.WriteAsync(help);
            return 0;
        }
        if (NotAnOption(verb, rest) is { } stray && VerbUsage(verb) is { } usage)
        {
            await stderr.WriteLineAsync($"{verb}: unknown option '{stray}' (names, ids and addresses never begin with '-').");
            await stderr.WriteAsync(usage);
            return 2;
        }
        try
        {
            return verb switch
            {
                "serve" => await ServeAsync(configArgs),
                "users" => await UsersCommand.RunAsync(rest, configArgs, stdin, stdout, stderr),
                "queue" => await QueueCommand.RunAsync(rest, configArgs, stdout, stderr),
                "rules" => await RulesCommand.RunAsync(rest, configArgs, stdout, stderr),
                "audit" => await AuditCommand.RunAsync(rest, configArgs, stdout, stderr),
                "certs" => await CertsCommand.RunAsync(rest, configArgs, stdout, stderr),
                "pickup" => await PickupCommand.RunAsync(rest, configArgs, stdout, stderr),
                "health" => await HealthCommand.RunAsync(rest, configArgs, stdout, stderr),
                "guard" => await GuardCommand.RunAsync(rest, configArgs, stdout, stderr),
                "dkim" => await DkimCommand.RunAsync(rest, configArgs, stdout, stderr),
                "help" or "--help" or "-h" => Usage(stdout, 0),
                _ => Usage(stderr, 2, $"Unknown verb '{verb}'."),
            };
        }
        catch (OptionsValidationException e)
        {
            foreach (var failure in e.Failures) await stderr.WriteLineAsync($"Configuration error: {failure}");
            return 2;
        }
        catch (Exception e) when (e is not OptionsValidationException && StartupFailure.Describe(e) is { } line)
        {
            await stderr.WriteLineAsync(line);
            return 2;
        }
        catch (InvalidOperationException e) when (e.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase))
        {
            await stderr.WriteLineAsync($"Configuration error: {ConfigurationErrorText.Describe(e)}");
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

    /// <summary>Removes <c>--config FILE</c> (or <c>--config=FILE</c>) from the verb's arguments and returns FILE.</summary>
    private static string? TakeConfigFile(List<string> verbArgs)
    {
        for (var i = 0; i < verbArgs.Count; i++)
        {
            if (verbArgs[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                var path = verbArgs[i]["--config=".Length..];
                verbArgs.RemoveAt(i);
                return path;
            }
            if (verbArgs[i] == "--config" && i + 1 < verbArgs.Count)
            {
                var path = verbArgs[i + 1];
                verbArgs.RemoveRange(i, 2);
                return path;
            }
        }
        return null;
    }

    /// <summary>Tokens of the form <c>--A:B=v</c> or <c>--A:B v</c> are configuration; the rest belong to the verb.</summary>
    internal static (List<string> VerbArgs, string[] ConfigArgs) Split(string[] args)
    {
        var verbArgs = new List<string>();
        var configArgs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            // The colon must be in the key: `--head-note=… at=08:00:00Z …` is a verb's value, not a setting.
            var key = arg.IndexOf('=', StringComparison.Ordinal) is var eq and >= 0 ? arg[..eq] : arg;
            if (arg.StartsWith("--", StringComparison.Ordinal) && key.Contains(':', StringComparison.Ordinal))
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

    /// <summary>The options each verb takes; any other argument starting with '-' is refused, so it is never taken as a name or id.</summary>
    private static readonly Dictionary<string, string[]> VerbOptions = new(StringComparer.Ordinal)
    {
        ["serve"] = [],
        ["users"] = [],
        ["queue"] = [],
        ["rules"] = ["--eml", "--to", "--from", "--show-phi", "--offline"],
        ["audit"] = ["--since", "--until", "--patient", "--recipient", "--format", "--include-gateway-mail", "--guard", "--head-note", "--head-notes"],
        ["certs"] = ["--address"],
        ["pickup"] = [],
        ["health"] = ["--url"],
        ["guard"] = ["--reason"],
        ["dkim"] = ["--selector", "--bits", "--force"],
    };

    private static string? NotAnOption(string verb, IEnumerable<string> args) =>
        VerbOptions.TryGetValue(verb, out var known)
            ? args.FirstOrDefault(a => a.StartsWith('-') && !known.Contains(a.Split('=', 2)[0], StringComparer.Ordinal))
            : null;

    /// <summary>The usage lines of one verb (its sub-verbs and their continuation lines), or null for an unknown verb.</summary>
    internal static string? VerbUsage(string verb)
    {
        if (!VerbOptions.ContainsKey(verb)) return null;
        var text = new System.Text.StringBuilder("Usage: PhiMailGateway " + verb + " ... [--config FILE] [--Section:Key=value ...]\n\n");
        var inVerb = false;
        foreach (var line in UsageText.Split('\n'))
        {
            if (line.StartsWith("  ", StringComparison.Ordinal) && !line.StartsWith("   ", StringComparison.Ordinal))
                inVerb = line.AsSpan(2).StartsWith(verb + " ", StringComparison.Ordinal) || line.AsSpan(2).TrimEnd() is var v && v.SequenceEqual(verb);
            if (inVerb && line.StartsWith("  ", StringComparison.Ordinal)) text.Append(line.TrimEnd()).Append('\n');
        }
        return text.ToString();
    }

    internal static int Usage(TextWriter writer, int exitCode, string? error = null)
    {
        if (error is not null) writer.WriteLine(error);
        writer.WriteLine(UsageText);
        return exitCode;
    }

    private const string UsageText = """
            Usage: PhiMailGateway [VERB] [--config FILE] [--Section:Key=value ...]

              serve                       run the gateway (the default)
              users add NAME              add or update an SMTP user; password on stdin
              users list                  list SMTP users
              users remove NAME           remove an SMTP user
              users unlock NAME           clear the AUTH lockouts of a user (per address and per user);
                                          the running gateway sees it at the next attempt
              queue list                  list queued messages and deliveries
              queue retry ID              retry a message or delivery now
              rules test --eml FILE [--to ADDR ...] [--from ADDR] [--show-phi] [--offline]
                                          dry run: what each rule decides per recipient, and why
              audit verify [--head-note "NOTE"]... [--head-notes FILE]...
                                          recompute the audit chain; exit 1 and the first bad record on any break;
                                          with head notes shipped off the machine (syslog, privacy officer's mail),
                                          also fail when the log was cut below a note or a note is forged
              audit export [--since DATE] [--until DATE] [--patient ID] [--recipient ADDR] [--format csv|json] [--include-gateway-mail] [--guard]
                                          accounting of disclosures (HIPAA 164.528) to stdout;
                                          --guard: the misdirection guard's decisions instead
              certs import FILE [--address ADDR]
                                          import a recipient S/MIME certificate (PEM, DER, PKCS#7 chain)
                                          or a CRL; never a PFX. --address binds it to that recipient
              certs list                  list recipient certificates: address, status, expiry, thumbprint
              certs remove ADDRESS        remove an address's certificates (or one, by SHA-256 thumbprint)
              pickup list                 list pickup packages (secure links)
              pickup revoke ID            withdraw a pickup link now; deletes its content
              health [--url URL]          GET the running gateway's /health (pickup listener); exit 0 when healthy
              guard list                  copies the misdirection guard holds for the sender to confirm:
                                          id, queue id, recipient, age, reasons (one line each)
              guard release ID [--reason TEXT]
                                          send a held copy anyway (as its rule says); the address becomes known
              guard cancel ID             never send a held copy
              guard known add ADDRESS|@DOMAIN
                                          vouch for an address or a whole domain: the misdirection guard
                                          never calls it new or a look-alike
              guard known remove ADDRESS|@DOMAIN
                                          take it off the list again
              guard known list            the addresses and domains added, by whom and when
              guard known import FILE     one address or @domain per line (# comments), e.g. a referral list
              dkim keygen --selector S [--bits 2048] [--force]
                                          write a new DKIM signing key, owner-only, to Direct:Dkim:KeyPath and
                                          print the TXT record to publish at S._domainkey.<Direct:Dkim:Domain>

            Every verb answers --help (or -h) with its usage.
            """;
}
