using System.Globalization;

namespace PhiMailGateway.Audit.HeadNotes;

public enum SyslogTransport
{
    Udp,
    Tcp,
}

/// <summary>Where head notes go: <c>udp://host:port</c> or <c>tcp://host:port</c> (an IPv6 address in brackets).</summary>
public sealed record SyslogTarget(SyslogTransport Transport, string Host, int Port)
{
    /// <summary>The target, or null with <paramref name="why"/> saying what is wrong (for the start-up error).</summary>
    public static SyslogTarget? Parse(string value, out string why)
    {
        why = "";
        var separator = value.IndexOf("://", StringComparison.Ordinal);
        var scheme = separator < 0 ? "" : value[..separator].ToLowerInvariant();
        SyslogTransport transport;
        switch (scheme)
        {
            case "udp": transport = SyslogTransport.Udp; break;
            case "tcp": transport = SyslogTransport.Tcp; break;
            default:
                why = "must be udp://host:port or tcp://host:port (other schemes, such as TLS syslog, are not supported).";
                return null;
        }
        var rest = value[(separator + 3)..].TrimEnd('/');
        string host;
        string portText;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= rest.Length || rest[close + 1] != ':')
            {
                why = "has no port: write udp://[address]:port.";
                return null;
            }
            host = rest[1..close];
            portText = rest[(close + 2)..];
        }
        else
        {
            var colon = rest.LastIndexOf(':');
            if (colon < 0)
            {
                why = "has no port: write udp://host:514 or tcp://host:601.";
                return null;
            }
            host = rest[..colon];
            portText = rest[(colon + 1)..];
        }
        if (host.Length == 0 || Uri.CheckHostName(host) == UriHostNameType.Unknown)
        {
            why = $"has no valid host name ('{host}').";
            return null;
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            why = $"port '{portText}' is out of range: must be between 1 and 65535.";
            return null;
        }
        return new SyslogTarget(transport, host, port);
    }

    public override string ToString() => $"{Transport.ToString().ToLowerInvariant()}://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port}";
}
