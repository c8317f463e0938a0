using System.Net;

namespace PhiMailGateway.Ingress;

/// <summary>
/// What ingress knows about one SMTP session, kept in one place so that the relay filter, the
/// authenticator and the store agree on who the client is (and the Received header says it).
/// </summary>
public sealed class SessionFacts(IPAddress clientAddress, bool trusted)
{
    public Guid SessionId { get; } = Guid.NewGuid();

    /// <summary>The client's IP address, IPv4-mapped IPv6 turned back into IPv4 so that 127.0.0.0/8 matches either form.</summary>
    public IPAddress ClientAddress { get; } = Normalize(clientAddress);

    /// <summary>From Smtp:TrustedNetworks: may relay without AUTH and is never evicted.</summary>
    public bool Trusted { get; } = trusted;

    public string? HeloName { get; internal set; }
    public string? AuthenticatedUser { get; internal set; }
    public bool Secure { get; internal set; }

    /// <summary>Authenticated or trusted: exempt from the per-address cap, the short timeout and eviction.</summary>
    public bool IsKnown => Trusted || AuthenticatedUser is not null;

    public static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
}

/// <summary>Smtp:TrustedNetworks, parsed once. Validation at start-up guarantees every entry parses.</summary>
public sealed class TrustedNetworks
{
    private readonly IPNetwork[] _networks;

    public TrustedNetworks(IEnumerable<string> cidrs)
    {
        _networks = cidrs.Select(c => Normalize(IPNetwork.Parse(c))).ToArray();
    }

    /// <summary>::ffff:10.0.0.0/104 means 10.0.0.0/8; client addresses are compared in IPv4 form.</summary>
    private static IPNetwork Normalize(IPNetwork network) =>
        network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96
            ? new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96)
            : network;

    public bool Contains(IPAddress? address)
    {
        if (address is null) return false;
        address = SessionFacts.Normalize(address);
        foreach (var network in _networks)
        {
            if (network.Contains(address)) return true;
        }
        return false;
    }
}
