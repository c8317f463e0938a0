namespace PhiMailGateway.Guard;

/// <summary>
/// What the practice's history and IT say about addresses, as the checks read it: addresses that
/// received dental images before (or that the sender confirmed), domains that count as known, and
/// the display names those addresses were written with. Built by the guard's store; immutable.
/// </summary>
public sealed class GuardKnowledge
{
    private readonly HashSet<string> _addresses;
    private readonly HashSet<string> _vouchedDomains;
    private readonly HashSet<string> _historyDomains;
    private readonly Dictionary<string, List<string>> _byLocalPart;
    private readonly Dictionary<string, List<string>> _byName;

    /// <param name="addresses">Addresses that received PHI before, were confirmed by a sender, or that IT added.</param>
    /// <param name="vouchedDomains">Domains IT vouches for: <c>Gateway:Domains</c>, <c>Guard:KnownDomains</c>, <c>guard known add @DOMAIN</c>.</param>
    /// <param name="contactNames">Display names the known addresses were written with (address, name).</param>
    public GuardKnowledge(IEnumerable<string> addresses, IEnumerable<string> vouchedDomains, IEnumerable<(string Address, string Name)> contactNames)
    {
        _addresses = new HashSet<string>(StringComparer.Ordinal);
        _historyDomains = new HashSet<string>(StringComparer.Ordinal);
        _byLocalPart = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        _byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        _vouchedDomains = new HashSet<string>(vouchedDomains.Select(GuardAddress.NormalizeDomain).OfType<string>(), StringComparer.Ordinal);
        AddAddresses(addresses);
        AddNames(contactNames);
        KnownDomains = _historyDomains.Concat(_vouchedDomains).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        _bySkeleton = DomainSimilarity.BySkeleton(KnownDomains);
    }

    private GuardKnowledge(GuardKnowledge basis, IEnumerable<string> addresses, IEnumerable<(string Address, string Name)> contactNames)
    {
        // Copies of the tables (the lists inside are shared and copied on write), so the basis that
        // other messages may still be reading never changes.
        _addresses = new HashSet<string>(basis._addresses, StringComparer.Ordinal);
        _historyDomains = new HashSet<string>(basis._historyDomains, StringComparer.Ordinal);
        _byLocalPart = new Dictionary<string, List<string>>(basis._byLocalPart, StringComparer.Ordinal);
        _byName = new Dictionary<string, List<string>>(basis._byName, StringComparer.Ordinal);
        _vouchedDomains = basis._vouchedDomains;
        var newDomains = AddAddresses(addresses);
        AddNames(contactNames);
        if (newDomains.Count == 0)
        {
            KnownDomains = basis.KnownDomains;
            _bySkeleton = basis._bySkeleton;
            return;
        }
        KnownDomains = basis.KnownDomains.Concat(newDomains).Order(StringComparer.Ordinal).ToList();
        var bySkeleton = new Dictionary<string, IReadOnlyList<string>>(basis._bySkeleton, StringComparer.Ordinal);
        foreach (var domain in newDomains)
        {
            var skeleton = DomainSimilarity.Skeleton(domain);
            bySkeleton[skeleton] = bySkeleton.TryGetValue(skeleton, out var same) ? [.. same, domain] : [domain];
        }
        _bySkeleton = bySkeleton;
    }

    /// <summary>
    /// This knowledge and some more addresses and names, as a new object. Only the new ones are
    /// parsed (each address's domain goes through IDNA, the costly part of a full build), and only
    /// a new domain goes into the look-alike tables.
    /// </summary>
    public GuardKnowledge Adding(IEnumerable<string> addresses, IEnumerable<(string Address, string Name)> contactNames) => new(this, addresses, contactNames);

    /// <summary>Adds the addresses; returns the domains that were not known before (neither from history nor vouched for).</summary>
    private List<string> AddAddresses(IEnumerable<string> addresses)
    {
        var newDomains = new List<string>();
        foreach (var address in addresses)
        {
            if (GuardAddress.Split(address) is not var (local, domain)) continue;
            var normal = local + "@" + domain;
            if (!_addresses.Add(normal)) continue;
            if (_historyDomains.Add(domain) && !_vouchedDomains.Contains(domain)) newDomains.Add(domain);
            _byLocalPart[local] = _byLocalPart.TryGetValue(local, out var list) ? [.. list, normal] : [normal];
        }
        return newDomains;
    }

    private void AddNames(IEnumerable<(string Address, string Name)> contactNames)
    {
        foreach (var (address, name) in contactNames)
        {
            if (NormalizeName(name) is not { } key || GuardAddress.Split(address) is not var (local, domain)) continue;
            var normal = local + "@" + domain;
            if (!_byName.TryGetValue(key, out var list)) _byName[key] = [normal];
            else if (!list.Contains(normal)) _byName[key] = [.. list, normal];
        }
    }

    // Built once per knowledge, so a recipient's confusable check is one look-up, not one skeleton per known domain.
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _bySkeleton;

    /// <summary>Known domains whose look-alike skeleton is this one.</summary>
    public IReadOnlyList<string> DomainsWithSkeleton(string skeleton) => _bySkeleton.GetValueOrDefault(skeleton) ?? [];

    public static readonly GuardKnowledge Empty = new([], [], []);

    /// <summary>Every domain a look-alike is compared with: of known addresses, and vouched for.</summary>
    public IReadOnlyList<string> KnownDomains { get; }

    public bool IsKnownAddress(string local, string domain) => _addresses.Contains(local + "@" + domain);

    public bool IsVouchedDomain(string domain) => _vouchedDomains.Contains(domain);

    /// <summary>A domain some known address has, or one IT vouches for.</summary>
    public bool IsKnownDomain(string domain) => _historyDomains.Contains(domain) || _vouchedDomains.Contains(domain);

    /// <summary>Known addresses with this local part.</summary>
    public IReadOnlyList<string> AddressesWithLocalPart(string local) => _byLocalPart.GetValueOrDefault(local) ?? [];

    /// <summary>Known addresses that were written with this display name.</summary>
    public IReadOnlyList<string> AddressesNamed(string name) => NormalizeName(name) is { } key ? _byName.GetValueOrDefault(key) ?? [] : [];

    /// <summary>Case, quotes, dots and spacing do not make another person: "Dr. Lee" is "dr lee".</summary>
    internal static string? NormalizeName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name)) return null;
        var words = name.ToLowerInvariant().Split([' ', '.', ',', '"', '\'', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return words.Length == 0 ? null : string.Join(' ', words);
    }
}
