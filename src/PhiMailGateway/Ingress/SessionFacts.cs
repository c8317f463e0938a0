using System.Net;
using SmtpServer;
using SmtpServer.Net;

namespace PhiMailGateway.Ingress;

/// <summary>
/// What ingress knows about one SMTP session, read from SmtpServer's session context in one place
/// so that the filter, the authenticator and the store agree on who the client is.
/// </summary>
internal static class SessionFacts
{
    /// <summary>Key under which <see cref="SmtpIngressService"/> keeps the EHLO/HELO name in the session properties.</summary>
    public const string HeloNameKey = "PhiMailGateway:HeloName";

    /// <summary>The client's IP address, IPv4-mapped IPv6 turned back into IPv4 so that 127.0.0.0/8 matches either form.</summary>
    public static IPAddress? ClientAddress(ISessionContext context)
    {
        if (!context.Properties.TryGetValue(EndpointListener.RemoteEndPointKey, out var value) || value is not IPEndPoint endpoint)
            return null;
        return Normalize(endpoint.Address);
    }

    public static IPAddress Normalize(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    public static string? AuthenticatedUser(ISessionContext context) =>
        context.Authentication is { IsAuthenticated: true, User: { Length: > 0 } user } ? user : null;

    public static string? HeloName(ISessionContext context) =>
        context.Properties.TryGetValue(HeloNameKey, out var value) ? value as string : null;
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
