using System.Net;
using PhiMailGateway.Protection.Pickup;

namespace PhiMailGateway.Cli;

/// <summary>
/// <c>health [--url URL]</c>: GETs the running gateway's <c>/health</c> (by default on the pickup
/// listener of this configuration) and exits 0 only for 200. It exists for Docker's HEALTHCHECK: the
/// runtime image has neither curl nor wget, but it has this executable.
/// </summary>
internal static class HealthCommand
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(string[] args, string[] configArgs, TextWriter stdout, TextWriter stderr)
    {
        string? url = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--url" && i + 1 < args.Length) url = args[++i];
            else if (args[i].StartsWith("--url=", StringComparison.Ordinal)) url = args[i]["--url=".Length..];
            else return GatewayCommandLine.Usage(stderr, 2, "health: expected `health` or `health --url URL`.");
        }
        if (url is null)
        {
            await using var context = CliContext.Create(configArgs, CliSections.Gateway | CliSections.Pickup);
            url = LocalHealthUrl(context.Get<PickupOptions>());
        }
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            await stderr.WriteLineAsync($"health: '{url}' is not an http(s) URL.");
            return 2;
        }

        using var http = new HttpClient { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(uri);
            var body = await response.Content.ReadAsStringAsync();
            await stdout.WriteLineAsync($"{(int)response.StatusCode} {body.Trim()}");
            return response.StatusCode == HttpStatusCode.OK ? 0 : 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await stderr.WriteLineAsync($"health: no answer from {uri}: {(e is TaskCanceledException ? "timed out" : e.Message)}");
            return 1;
        }
    }

    /// <summary>The pickup listener as seen from this machine: a wildcard listen address is reached on loopback.</summary>
    internal static string LocalHealthUrl(PickupOptions pickup)
    {
        var address = IPAddress.Parse(pickup.Address);
        var host = address.Equals(IPAddress.Any) ? "127.0.0.1"
            : address.Equals(IPAddress.IPv6Any) ? "[::1]"
            : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        return $"http://{host}:{pickup.Port}/health";
    }
}
