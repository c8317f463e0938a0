using System.Net;
using System.Net.Sockets;
using Dapper;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using PhiMailGateway.Hosting;
using PhiMailGateway.Ingress;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Users;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// The whole gateway, started for one test on loopback with its own temp data directory:
/// <code>await using var gw = await TestGateway.StartAsync(new() { ["Smtp:TrustedNetworks:0"] = "127.0.0.0/8" });</code>
/// Defaults: host name <c>gateway.test</c>, a free port for Smtp:Port and Pickup:Port, Relay:Mode=Directory,
/// short session timeout and AUTH failure delay so tests stay fast, log level Warning, and the run's
/// <see cref="SharedTlsCertificate"/> as Smtp:CertificatePath (pass <c>["Smtp:CertificatePath"] = null</c>
/// to have the gateway generate its own).
/// An override value of <see cref="FreePort"/> gets a free port (e.g. for Smtp:ImplicitTlsPort).
/// When the host has no <see cref="IUserDirectory"/> registered yet, an <see cref="InMemoryUserDirectory"/> is used.
/// Disposing stops the host and deletes the data directory (unless it was passed in).
/// </summary>
public sealed class TestGateway : IAsyncDisposable
{
    public const string HostName = "gateway.test";
    public const string FreePort = "free";

    private readonly bool _ownsDataDirectory;
    private bool _stopped;

    private TestGateway(IHost host, string dataDirectory, bool ownsDataDirectory, int port, int? implicitTlsPort)
    {
        Host = host;
        DataDirectory = dataDirectory;
        _ownsDataDirectory = ownsDataDirectory;
        Port = port;
        ImplicitTlsPort = implicitTlsPort;
    }

    public IHost Host { get; }
    public IServiceProvider Services => Host.Services;
    public string DataDirectory { get; }
    public int Port { get; }
    public int? ImplicitTlsPort { get; }
    public SpoolDirectory Spool => Services.GetRequiredService<SpoolDirectory>();
    public SmtpIngressService Ingress => Services.GetRequiredService<SmtpIngressService>();

    /// <param name="overrides">Configuration on top of the defaults (a null value removes a default).</param>
    /// <param name="configureServices">Runs after the gateway registered its services: replace or add any.</param>
    /// <param name="dataDirectory">Reuse an existing data directory (a restart); it is then not deleted on dispose.</param>
    /// <summary>
    /// A gateway without the queue worker: ingress tests look at the spool right after the 250,
    /// and with the worker running the message may already be relayed and its file gone.
    /// </summary>
    public static Task<TestGateway> StartIngressOnlyAsync(
        IDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? configureServices = null,
        string? dataDirectory = null) =>
        StartAsync(overrides, services =>
        {
            services.Remove(services.Single(d => d.ServiceType == typeof(IHostedService) && d.ImplementationType == typeof(PhiMailGateway.Queue.QueueWorker)));
            configureServices?.Invoke(services);
        }, dataDirectory);

    public static async Task<TestGateway> StartAsync(
        IDictionary<string, string?>? overrides = null,
        Action<IServiceCollection>? configureServices = null,
        string? dataDirectory = null)
    {
        var owns = dataDirectory is null;
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "phimail-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dataDirectory);

        for (var attempt = 1; ; attempt++)
        {
            var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
            {
                ["Gateway:DataDirectory"] = dataDirectory,
                ["Gateway:HostName"] = HostName,
                ["Smtp:Address"] = "127.0.0.1",
                ["Smtp:Port"] = FreePort,
                ["Pickup:Port"] = FreePort,
                ["Smtp:SessionTimeout"] = "00:00:10",
                ["Smtp:AuthFailureDelay"] = "00:00:00.020",
                ["Smtp:CertificatePath"] = SharedTlsCertificate.Path,
                ["Relay:Mode"] = "Directory",
                // Every first message with images to an address is flagged, and the sender would
                // get a receipt for it: tests that count mail at the smarthost see only their own.
                // The guard's tests turn receipts on.
                ["Guard:Receipts"] = "Off",
                ["Logging:LogLevel:Default"] = "Warning",
                ["Logging:LogLevel:Microsoft"] = "Warning",
            };
            foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
            {
                if (value is null) settings.Remove(key);
                else settings[key] = value;
            }
            var autoPorts = false;
            foreach (var key in settings.Keys.ToList())
            {
                if (settings[key] == FreePort)
                {
                    settings[key] = GetFreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
                    autoPorts = true;
                }
            }

            // Mail that really leaves needs a public pickup URL (start-up refuses without one); the
            // tests' links point at the test's own listener unless a test says otherwise.
            if (PickupBaseUrlValidator.RelaysToSmarthost(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
                && overrides?.ContainsKey("Pickup:BaseUrl") != true && settings.TryGetValue("Pickup:Port", out var pickupPort))
                settings["Pickup:BaseUrl"] = $"http://127.0.0.1:{pickupPort}";

            var host = GatewayHost.Build([], settings, services =>
            {
                if (!services.Any(d => d.ServiceType == typeof(IUserDirectory)))
                    services.AddSingleton<IUserDirectory, InMemoryUserDirectory>();
                services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
                configureServices?.Invoke(services);
            });
            try
            {
                await host.StartAsync();
            }
            catch (SocketException) when (autoPorts && attempt < 3)
            {
                // Someone took the free port between our probe and the bind: pick again.
                host.Dispose();
                continue;
            }
            catch
            {
                host.Dispose();
                if (owns) TryDeleteDirectory(dataDirectory);
                throw;
            }
            return new TestGateway(host, dataDirectory, owns,
                int.Parse(settings["Smtp:Port"]!, System.Globalization.CultureInfo.InvariantCulture),
                settings.TryGetValue("Smtp:ImplicitTlsPort", out var tls) && tls is not null ? int.Parse(tls, System.Globalization.CultureInfo.InvariantCulture) : null);
        }
    }

    /// <summary>Adds (or updates) an AUTH account in whatever <see cref="IUserDirectory"/> the host uses.</summary>
    public Task AddUserAsync(string name, string password) =>
        Services.GetRequiredService<IUserDirectory>().AddOrUpdateAsync(name, password, CancellationToken.None);

    /// <summary>Queue ids of the files in <c>spool/incoming</c>.</summary>
    public IReadOnlyList<string> IncomingQueueIds() =>
        Directory.Exists(Spool.Incoming)
            ? Directory.GetFiles(Spool.Incoming, "*.msg").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Number of rows in the queue's messages table.</summary>
    public async Task<long> QueueRowCountAsync()
    {
        await using var c = await Services.GetRequiredService<GatewayDatabase>().OpenAsync(CancellationToken.None);
        return await c.ExecuteScalarAsync<long>("SELECT COUNT(*) FROM messages");
    }

    /// <summary>The stored message bytes of one queued message (our Received header first).</summary>
    public byte[] ReadQueuedMessage(string queueId)
    {
        var entry = SpoolFile.Read(Spool.IncomingPath(queueId));
        using var stream = entry.OpenMessage();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Waits (up to <paramref name="timeout"/>, default 10 s) until the listener has no open session; no sleeping guesses.</summary>
    public async Task WaitForIdleAsync(TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (Ingress.ActiveSessions > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{Ingress.ActiveSessions} SMTP sessions still open.");
            await Task.Delay(10);
        }
    }

    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        await Host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            Host.Dispose();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (_ownsDataDirectory) TryDeleteDirectory(DataDirectory);
        }
    }

    public static int GetFreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            if (File.Exists(path)) File.Delete(path);
            else if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
