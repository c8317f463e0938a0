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
        foreach (var address in addresses)
        {
            if (GuardAddress.Split(address) is not var (local, domain)) continue;
            var normal = local + "@" + domain;
            if (!_addresses.Add(normal)) continue;
            _historyDomains.Add(domain);
            if (!_byLocalPart.TryGetValue(local, out var list)) _byLocalPart[local] = list = [];
            list.Add(normal);
        }
        _vouchedDomains = new HashSet<string>(vouchedDomains.Select(GuardAddress.NormalizeDomain).OfType<string>(), StringComparer.Ordinal);
        _byName = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (address, name) in contactNames)
        {
            if (NormalizeName(name) is not { } key || GuardAddress.Split(address) is not var (local, domain)) continue;
            if (!_byName.TryGetValue(key, out var list)) _byName[key] = list = [];
            var normal = local + "@" + domain;
            if (!list.Contains(normal)) list.Add(normal);
        }
        KnownDomains = _historyDomains.Concat(_vouchedDomains).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        _bySkeleton = DomainSimilarity.BySkeleton(KnownDomains);
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
