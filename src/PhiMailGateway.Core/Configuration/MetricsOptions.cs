using System.Net;
using Microsoft.Extensions.Options;

namespace PhiMailGateway.Configuration;

/// <summary>
/// Section <c>Metrics</c>: an optional listener of its own for <c>/metrics</c> (Prometheus text) and
/// <c>/health</c>, for IT's monitoring. Off until <see cref="Port"/> is set: the counts are not
/// patient data, but they say how busy the practice is, so they are not put on the pickup listener,
/// which faces recipients (often through a reverse proxy, where every client looks like 127.0.0.1).
/// </summary>
public sealed record MetricsOptions
{
    public const string Section = "Metrics";

    public string Address { get; init; } = "127.0.0.1";

    /// <summary>Unset: no metrics listener. <c>GET /health</c> stays on the pickup listener either way.</summary>
    public int? Port { get; init; }
}

public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    public ValidateOptionsResult Validate(string? name, MetricsOptions o)
    {
        var errors = new List<string>();
        if (!IPAddress.TryParse(o.Address, out _)) errors.Add($"Metrics:Address: '{o.Address}' is not an IP address.");
        if (o.Port is { } port and (< 1 or > 65535)) errors.Add($"Metrics:Port: must be between 1 and 65535 (got {port}).");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
