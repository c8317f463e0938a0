using System.Globalization;
using PhiMailGateway.Audit;
using PhiMailGateway.Guard;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>guard list|release|cancel</c>: the copies the misdirection guard holds, and IT's decision on
/// one; <c>guard known add|remove|list|import</c>: the addresses and <c>@domains</c> IT vouches for,
/// so the guard never calls them new or look-alike. Works whether or not <c>serve</c> runs: a
/// running gateway makes a released copy within a second, and sees known entries at its next message.
/// </summary>
internal static class GuardCommand
{
    private const string Expected = "guard: expected `guard list`, `guard release ID [--reason TEXT]`, `guard cancel ID`, "
        + "`guard known add ADDRESS|@DOMAIN`, `guard known remove ADDRESS|@DOMAIN`, `guard known list` or `guard known import FILE`.";

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        if (args is ["list"] or ["release", ..] or ["cancel", ..]) return await HoldsAsync(args, configArgs, stdout, stderr);
        if (args is not ["known", var sub, ..] || (sub, args.Length) is not (("list", 2) or ("add" or "remove" or "import", 3)))
            return GatewayCommandLine.Usage(stderr, 2, Expected);
        var argument = args.Length == 3 ? args[2] : null;

        string? entry = null;
        IReadOnlyList<string>? imported = null;
        if (sub is "add" or "remove")
        {
            entry = KnownEntry.Normalize(argument!);
            if (entry is null)
            {
                await stderr.WriteLineAsync($"guard known {sub}: '{argument}' is neither an address (name@domain) nor @domain.");
                return 2;
            }
        }
        else if (sub == "import")
        {
            imported = await ReadImportAsync(argument!, stderr);
            if (imported is null) return 2;
        }

        await using var context = CliContext.Create(configArgs, CliSections.Gateway);
        await context.Database().MigrateAsync(CancellationToken.None);
        var store = context.Get<IGuardStore>();
        var now = context.Get<TimeProvider>().GetUtcNow();
        try
        {
            switch (sub)
            {
                case "add":
                    var added = await store.AddKnownAsync(new KnownEntry(entry!, KnownSources.It, now, AddedBy), CancellationToken.None);
                    await stdout.WriteLineAsync(added ? $"Added {entry}" : $"{entry} was already known; nothing changed.");
                    return 0;
                case "remove":
                    if (await store.RemoveKnownAsync(entry!, CancellationToken.None))
                    {
                        await stdout.WriteLineAsync($"Removed {entry}");
                        return 0;
                    }
                    await stderr.WriteLineAsync($"guard known remove: {entry} is not on the list (`guard known list` shows it).");
                    return 1;
                case "import":
                    var count = 0;
                    foreach (var e in imported!)
                        if (await store.AddKnownAsync(new KnownEntry(e, KnownSources.It, now, AddedBy), CancellationToken.None)) count++;
                    await stdout.WriteLineAsync($"Imported {count} new of {imported.Count} ({imported.Count - count} already known).");
                    return 0;
                default:
                    var known = await store.ListKnownAsync(CancellationToken.None);
                    if (known.Count == 0)
                    {
                        await stdout.WriteLineAsync("No known addresses or domains added.");
                        return 0;
                    }
                    var width = Math.Max("ENTRY".Length, known.Max(k => k.Entry.Length));
                    await stdout.WriteLineAsync($"{"ENTRY".PadRight(width)}  {"SOURCE",-9}  {"ADDED (UTC)",-16}  BY");
                    foreach (var k in known)
                        await stdout.WriteLineAsync($"{k.Entry.PadRight(width)}  {k.Source,-9}  {k.AddedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),-16}  {k.AddedBy ?? "-"}");
                    return 0;
            }
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"guard known {sub}: cannot use the database '{context.Database().Location}': {e.Message}");
            return 1;
        }
    }

    private static async Task<int> HoldsAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        var verb = args[0];
        string? id = null, reason = null;
        if (verb != "list")
        {
            var ok = args.Length >= 2 && !args[1].StartsWith("--", StringComparison.Ordinal);
            id = ok ? args[1] : null;
            var i = 2;
            for (; ok && i < args.Length; i++)
            {
                if (verb == "release" && args[i] == "--reason" && i + 1 < args.Length) reason = args[++i];
                else ok = false;
            }
            if (!ok) return GatewayCommandLine.Usage(stderr, 2, verb == "release" ? "guard release: expected `guard release ID [--reason TEXT]`." : "guard cancel: expected `guard cancel ID`.");
        }

        await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Audit, b => b.AddAudit().AddGuard());
        await context.Database().MigrateAsync(CancellationToken.None);
        var holds = context.Get<IGuardHolds>();
        var now = context.Get<TimeProvider>().GetUtcNow();
        try
        {
            if (verb == "list")
            {
                // Held copies only, one line each, id first (DESIGN): scripts read the first column.
                foreach (var h in await holds.InStatesAsync([GuardHoldStates.Held], CancellationToken.None))
                {
                    var age = now - DateTimeOffset.FromUnixTimeMilliseconds(h.CreatedAt);
                    var state = h.IsExpired(now) ? "  (expired, cancelled at the next sweep)" : "";
                    await stdout.WriteLineAsync($"{h.HoldId}  {h.QueueId}  {h.Recipient}  {Age(age)}  {h.Checks}: {string.Join("; ", h.ReasonLines)}{state}");
                }
                return 0;
            }

            var hold = await holds.FindAsync(id!, CancellationToken.None);
            if (hold is null)
            {
                await stderr.WriteLineAsync($"guard {verb}: no held copy {id} (`guard list` shows them).");
                return 1;
            }
            if (hold.State != GuardHoldStates.Held || hold.IsExpired(now))
            {
                await stderr.WriteLineAsync($"guard {verb}: {id} is not waiting any more ({(hold.IsExpired(now) ? "its window passed" : hold.State.ToLowerInvariant())}); nothing changed.");
                return 1;
            }
            var decisions = context.Get<GuardDecisions>();
            var by = "IT (" + AddedBy + ")";
            var done = verb == "release"
                ? await decisions.ReleaseAsync(hold, by, reason, null, CancellationToken.None)
                : await decisions.CancelAsync(hold, by, null, null, CancellationToken.None);
            if (!done)
            {
                await stderr.WriteLineAsync($"guard {verb}: {id} was decided by someone else just now; nothing changed.");
                return 1;
            }
            await stdout.WriteLineAsync(verb == "release"
                ? $"Released {id}: the running gateway sends it to {hold.Recipient} as its rule says; {hold.Recipient} is now known."
                : $"Cancelled {id}: it will never be sent to {hold.Recipient}.");
            return 0;
        }
        catch (StorageException e)
        {
            await stderr.WriteLineAsync($"guard {verb}: cannot use the database '{context.Database().Location}': {e.Message}");
            return 1;
        }
    }

    private static string Age(TimeSpan age) =>
        age.TotalHours >= 1 ? $"{(int)age.TotalHours}h{age.Minutes:00}m" : $"{Math.Max(0, (int)age.TotalMinutes)}m";

    /// <summary>Who added an entry from the CLI: the shell's user, which says more to IT than "cli".</summary>
    private static string AddedBy => "cli:" + Environment.UserName;

    /// <summary>
    /// One address or @domain per line; blank lines and lines starting with # are skipped. Any line
    /// that is neither refuses the whole file (each bad line named), so nothing half-imports.
    /// </summary>
    private static async Task<IReadOnlyList<string>?> ReadImportAsync(string path, TextWriter stderr)
    {
        string[] lines;
        try
        {
            lines = await File.ReadAllLinesAsync(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await stderr.WriteLineAsync($"guard known import: cannot read '{path}': {e.Message}");
            return null;
        }
        var entries = new List<string>();
        var bad = 0;
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            if (KnownEntry.Normalize(line) is { } e) entries.Add(e);
            else
            {
                bad++;
                await stderr.WriteLineAsync($"guard known import: {path}:{i + 1}: '{line}' is neither an address nor @domain.");
            }
        }
        if (bad > 0)
        {
            await stderr.WriteLineAsync($"guard known import: nothing imported ({bad} bad line(s)); fix them and run it again.");
            return null;
        }
        return entries.Distinct(StringComparer.Ordinal).ToList();
    }
}
