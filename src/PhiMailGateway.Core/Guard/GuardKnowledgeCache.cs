using PhiMailGateway.Configuration;

namespace PhiMailGateway.Guard;

/// <summary>
/// The guard's <see cref="GuardKnowledge"/>, kept current cheaply: each call reads only the audit
/// events after the last one it read and, when the added entries changed (in any process), those
/// entries; the knowledge grows by what the audit newly delivered, and is built anew only when the
/// added entries changed. One caller at a time.
/// </summary>
public sealed class GuardKnowledgeCache(IGuardStore store, GuardOptions options, GatewayOptions gateway)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly HashSet<string> _delivered = new(StringComparer.Ordinal);
    private readonly HashSet<(string Address, string Name)> _names = [];
    private IReadOnlyList<KnownEntry> _added = [];
    private long _readUpTo;
    private long? _addedVersion;
    private GuardKnowledge _current = GuardKnowledge.Empty;

    public async Task<GuardKnowledge> CurrentAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var rebuild = _addedVersion is null;
            var history = await store.ReadDeliveredSinceAsync(_readUpTo, cancellationToken);
            var learned = new List<string>();
            var learnedNames = new List<(string Address, string Name)>();
            foreach (var (address, name) in history.Delivered)
            {
                var key = address.ToLowerInvariant();
                if (_delivered.Add(key)) learned.Add(key);
                if (!string.IsNullOrWhiteSpace(name) && _names.Add((key, name.Trim()))) learnedNames.Add((key, name.Trim()));
            }
            _readUpTo = history.ReadUpTo;

            var version = await store.KnownVersionAsync(cancellationToken);
            if (version != _addedVersion)
            {
                _added = await store.ListKnownAsync(cancellationToken);
                _addedVersion = version;
                rebuild = true;
            }
            // An entry removed must be forgotten, so a change to them builds everything again; what
            // the audit delivered only ever adds, which is cheap to add (guard-scale, bench/README.md).
            if (rebuild) _current = Build();
            else if (learned.Count > 0 || learnedNames.Count > 0) _current = _current.Adding(learned, learnedNames);
            return _current;
        }
        finally
        {
            _gate.Release();
        }
    }

    private GuardKnowledge Build() => new(
        _delivered.Concat(_added.Where(e => !e.IsDomain).Select(e => e.Entry)),
        gateway.Domains.Concat(options.KnownDomains).Concat(_added.Where(e => e.IsDomain).Select(e => e.Entry[1..])),
        _names);
}
