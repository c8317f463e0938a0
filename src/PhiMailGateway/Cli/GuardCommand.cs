using System.Globalization;
using PhiMailGateway.Guard;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>guard known add|remove|list|import</c>: the addresses and <c>@domains</c> IT vouches for, so
/// the misdirection guard never calls them new or look-alike. Works whether or not <c>serve</c> runs:
/// a running gateway sees the change at its next message.
/// </summary>
internal static class GuardCommand
{
    private const string Expected = "guard: expected `guard known add ADDRESS|@DOMAIN`, `guard known remove ADDRESS|@DOMAIN`, `guard known list` or `guard known import FILE`.";

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
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
