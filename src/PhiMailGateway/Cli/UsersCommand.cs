using PhiMailGateway.Storage;
using PhiMailGateway.Users;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>users add NAME</c> (password: first line of stdin), <c>users list</c>, <c>users remove NAME</c>,
/// <c>users unlock NAME</c> (clears the AUTH lockouts of that user name, through the database the
/// running gateway reads at the next attempt).
/// The password never appears on the command line, where other local users could read it from the
/// process list or the shell history.
/// </summary>
internal static class UsersCommand
{
    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var sub = args.Length > 0 ? args[0] : null;
        switch (sub, args.Length)
        {
            case ("add", 2):
            case ("remove", 2):
            case ("unlock", 2):
                if (!UserName.TryNormalize(args[1], out _))
                {
                    await stderr.WriteLineAsync($"users {sub}: '{args[1]}' is not a valid user name: {UserName.Rule}.");
                    return 2;
                }
                break;
            case ("list", 1):
                break;
            default:
                return GatewayCommandLine.Usage(stderr, 2, sub is "add" or "remove" or "list" or "unlock"
                    ? $"users {sub}: wrong number of arguments."
                    : "users: expected 'add NAME', 'list', 'remove NAME' or 'unlock NAME'.");
        }

        string? password = null;
        if (sub == "add")
        {
            password = await ReadPasswordAsync(stdin, stderr);
            if (string.IsNullOrEmpty(password))
            {
                await stderr.WriteLineAsync("users add: no password given. Pipe it on stdin, e.g. `printf '%s\\n' \"$PW\" | PhiMailGateway users add NAME`.");
                return 2;
            }
            if (PasswordPolicy.Check(UserName.Normalize(args[1]), password) is { } weak)
            {
                await stderr.WriteLineAsync($"users add: password refused: {weak}. The rule: {PasswordPolicy.Rule}.");
                return 2;
            }
        }

        await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Smtp);
        var users = context.Users();
        try
        {
            switch (sub)
            {
                case "add":
                {
                    var name = UserName.Normalize(args[1]);
                    var added = await users.AddOrUpdateAsync(name, password!, CancellationToken.None);
                    await stdout.WriteLineAsync(added ? $"Added user {name}" : $"Updated password for {name}");
                    return 0;
                }
                case "remove":
                {
                    var name = UserName.Normalize(args[1]);
                    if (await users.RemoveAsync(name, CancellationToken.None))
                    {
                        await stdout.WriteLineAsync($"Removed user {name}");
                        return 0;
                    }
                    await stderr.WriteLineAsync($"users remove: no user named '{name}'.");
                    return 1;
                }
                case "unlock":
                {
                    // Any valid name, existing or not: a lockout can be on a name someone guessed.
                    var name = UserName.Normalize(args[1]);
                    var running = await context.Get<IAuthLockouts>().UnlockAsync(name, CancellationToken.None);
                    await stdout.WriteLineAsync(running > 0
                        ? $"Unlocked {name}: {running} lockout(s) cleared; the next AUTH attempt is checked normally."
                        : $"{name} had no running lockout recorded; nothing to clear.");
                    return 0;
                }
                default:
                    await ListAsync(users, context.Get<IAuthLockouts>(), stdout);
                    return 0;
            }
        }
        catch (Exception e) when (e is StorageException or IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"users {sub}: cannot use the user database '{context.Database().Location}': {e.Message}");
            return 1;
        }
    }

    private static async Task ListAsync(IUserDirectory users, IAuthLockouts lockouts, TextWriter stdout)
    {
        var accounts = await users.ListAsync(CancellationToken.None);
        var running = await lockouts.ListRunningAsync(CancellationToken.None);
        if (accounts.Count == 0)
        {
            await stdout.WriteLineAsync("No users.");
        }
        else
        {
            var width = Math.Max("NAME".Length, accounts.Max(a => a.Name.Length));
            await stdout.WriteLineAsync($"{"NAME".PadRight(width)}  {"CREATED (UTC)",-20}  {"UPDATED (UTC)",-20}  LOCKED UNTIL (UTC)");
            foreach (var a in accounts)
            {
                var until = running.Where(l => l.UserName == a.Name).Select(l => (DateTimeOffset?)l.LockedUntil).Max();
                await stdout.WriteLineAsync($"{a.Name.PadRight(width)}  {Format(a.CreatedAt),-20}  {Format(a.UpdatedAt),-20}  {(until is { } u ? Format(u) : "-")}".TrimEnd());
            }
        }
        foreach (var lockout in running)
        {
            var scope = lockout.Scope == AuthLockoutScopes.Pair ? $"from {lockout.Client}" : "from all addresses";
            await stdout.WriteLineAsync($"Locked: {lockout.UserName} {scope} until {Format(lockout.LockedUntil)} (users unlock {lockout.UserName})");
        }
    }

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// The first line of stdin without its line end. At an interactive terminal it prompts on stderr
    /// and reads without echo, so the password does not stay on screen.
    /// </summary>
    private static async Task<string?> ReadPasswordAsync(TextReader stdin, TextWriter stderr)
    {
        if (ReferenceEquals(stdin, Console.In) && !Console.IsInputRedirected)
        {
            await stderr.WriteAsync("Password: ");
            var chars = new System.Text.StringBuilder();
            while (true)
            {
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter) break;
                if (key.Key == ConsoleKey.Backspace)
                {
                    if (chars.Length > 0) chars.Length--;
                    continue;
                }
                if (key.KeyChar != '\0') chars.Append(key.KeyChar);
            }
            await stderr.WriteLineAsync();
            return chars.ToString();
        }
        // ReadLine drops the line end (LF, CRLF or a lone CR); TrimEnd covers a stray CR left over
        // from a file written with mixed line ends.
        var line = await stdin.ReadLineAsync();
        return line?.TrimEnd('\r', '\n');
    }
}
