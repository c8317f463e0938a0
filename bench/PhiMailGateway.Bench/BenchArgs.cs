using System.Globalization;

namespace PhiMailGateway.Bench;

/// <summary>
/// Command line: MODE then --name value options (a name may repeat; --no-build and --help are flags).
/// Everything after `--` goes to BenchmarkDotNet in micro mode.
/// </summary>
public sealed class BenchArgs
{
    private readonly Dictionary<string, List<string>> _options = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _flags = new(StringComparer.OrdinalIgnoreCase);

    public string Mode { get; private set; } = "help";
    public string[] Passthrough { get; private set; } = [];

    private static readonly HashSet<string> FlagNames = new(StringComparer.OrdinalIgnoreCase) { "no-build", "help", "no-openssl", "no-pipelining", "connection-per-message", "starttls", "auth", "sink-no-chunking", "ready-to-run" };

    public static BenchArgs Parse(string[] args)
    {
        var result = new BenchArgs();
        var i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-')) result.Mode = args[i++].ToLowerInvariant();
        for (; i < args.Length; i++)
        {
            var a = args[i];
            if (a == "--") { result.Passthrough = args[(i + 1)..]; break; }
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{a}'.");
            var name = a[2..];
            string? value = null;
            if (name.Contains('=', StringComparison.Ordinal)) (name, value) = (name[..name.IndexOf('=', StringComparison.Ordinal)], name[(name.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            if (FlagNames.Contains(name) && value is null) { result._flags.Add(name); continue; }
            if (value is null)
            {
                if (i + 1 >= args.Length) throw new ArgumentException($"--{name} needs a value.");
                value = args[++i];
            }
            if (!result._options.TryGetValue(name, out var list)) result._options[name] = list = [];
            list.Add(value);
        }
        return result;
    }

    public bool Flag(string name) => _flags.Contains(name);

    public string? Value(string name) => _options.TryGetValue(name, out var v) ? v[^1] : null;

    /// <summary>All values of a repeatable option, comma lists split.</summary>
    public IReadOnlyList<string> List(string name, params string[] fallback) =>
        _options.TryGetValue(name, out var v)
            ? v.SelectMany(x => x.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList()
            : fallback;

    public IReadOnlyList<string> Raw(string name) => _options.TryGetValue(name, out var v) ? v : [];

    public int? Number(string name) => Value(name) is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : null;
}
