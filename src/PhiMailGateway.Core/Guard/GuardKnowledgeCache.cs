using PhiMailGateway.Configuration;

namespace PhiMailGateway.Guard;

/// <summary>
/// The guard's <see cref="GuardKnowledge"/>, kept current cheaply: each call reads only the audit
/// events after the last one it read and, when the added entries changed (in any process), those
/// entries; the knowledge is rebuilt only when something new was learned. One caller at a time.
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
            var changed = _addedVersion is null;
            var history = await store.ReadDeliveredSinceAsync(_readUpTo, cancellationToken);
            foreach (var (address, name) in history.Delivered)
            {
                var key = address.ToLowerInvariant();
                changed |= _delivered.Add(key);
                if (!string.IsNullOrWhiteSpace(name)) changed |= _names.Add((key, name.Trim()));
            }
            _readUpTo = history.ReadUpTo;

            var version = await store.KnownVersionAsync(cancellationToken);
            if (version != _addedVersion)
            {
                _added = await store.ListKnownAsync(cancellationToken);
                _addedVersion = version;
                changed = true;
            }
            if (changed) _current = Build();
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
