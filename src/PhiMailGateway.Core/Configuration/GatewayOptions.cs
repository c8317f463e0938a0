namespace PhiMailGateway.Configuration;

/// <summary>Section <c>Gateway</c>: where the gateway keeps its state and whose mail it carries.</summary>
public sealed record GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Spool, databases, pickup blobs and generated keys live here.</summary>
    public string DataDirectory { get; init; } = "./data";

    /// <summary>The practice's sender domains; when non-empty, MAIL FROM outside them is refused with 553.</summary>
    public string[] Domains { get; init; } = [];

    /// <summary>32-byte master key; defaults to <c>&lt;data&gt;/keys/master.key</c>.</summary>
    public string? MasterKeyPath { get; init; }

    /// <summary>Host name used in our greeting, Received headers and DSNs.</summary>
    public string HostName { get; init; } = System.Net.Dns.GetHostName();

    /// <summary>
    /// Names this instance among several on one database: in logs, audit events and the leases on
    /// the queue work it claims. Defaults to the machine's host name; two instances on one machine
    /// need names of their own.
    /// </summary>
    public string NodeName { get; init; } = System.Net.Dns.GetHostName();

    public string FullDataDirectory => Path.GetFullPath(DataDirectory);
}
