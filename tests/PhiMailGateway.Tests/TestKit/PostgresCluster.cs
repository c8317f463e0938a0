using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Npgsql;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>
/// A private PostgreSQL cluster for the tests: Debian's binaries (<c>/usr/lib/postgresql/*/bin</c>,
/// which scripts/test.sh installs), a data folder under the temp folder, a free loopback port and
/// the unix socket in that folder, so nothing set up by hand and no system cluster is touched.
/// Started on first use and shared by every test; <see cref="SharedPostgresShutdown"/> stops it
/// after the last. PostgreSQL refuses to run as root, so when the tests run as root (CI) every
/// server command runs as the <c>postgres</c> user. fsync is off: a power cut during a test run
/// is not what the tests are about, and each CREATE DATABASE would otherwise flush the disk.
/// </summary>
public sealed class PostgresCluster
{
    private const string FolderPrefix = "phimail-pg-";
    private const string OwnerFile = "owner.pid";

    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static PostgresCluster? _shared;

    private readonly string _bin;
    private readonly string _root;
    private readonly string _password;

    private PostgresCluster(string bin, string root, string password, int port, TimeSpan startDuration)
    {
        _bin = bin;
        _root = root;
        _password = password;
        Port = port;
        StartDuration = startDuration;
    }

    public int Port { get; }

    /// <summary>initdb plus start-up until the server accepts connections.</summary>
    public TimeSpan StartDuration { get; }

    private string DataFolder => Path.Combine(_root, "data");

    /// <summary>The superuser on the cluster's maintenance database, for creating and changing test databases.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = "postgres",
        Password = _password,
        Database = database,
        // Each test database gets its own pools; keep them small so many tests fit the server.
        MaxPoolSize = 20,
    }.ToString();

    /// <summary>The cluster every test shares, started on first use.</summary>
    public static async Task<PostgresCluster> SharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            return _shared ??= await StartAsync();
        }
        finally
        {
            Gate.Release();
        }
    }

    /// <summary>A fresh, empty database on the shared cluster, dropped when disposed.</summary>
    public static async Task<PostgresDatabase> CreateDatabaseAsync()
    {
        var cluster = await SharedAsync();
        var name = "gw_" + Guid.NewGuid().ToString("N")[..16];
        await cluster.AdminAsync($"CREATE DATABASE {name}");
        return new PostgresDatabase(cluster, name);
    }

    internal async Task AdminAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task StopSharedAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_shared is null) return;
            NpgsqlConnection.ClearAllPools();
            await _shared.StopAsync();
            _shared = null;
        }
        finally
        {
            Gate.Release();
        }
    }

    private static async Task<PostgresCluster> StartAsync()
    {
        var bin = FindBinaries();
        await StopAbandonedAsync(bin);
        var watch = Stopwatch.StartNew();
        var root = Path.Combine(Path.GetTempPath(), FolderPrefix + Guid.NewGuid().ToString("N")[..12]);
        var password = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        // Made by the server's user, so that initdb may create the data folder inside it.
        await RunAsync("mkdir", asServerUser: true, "-m", "700", root);
        await File.WriteAllTextAsync(Path.Combine(root, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            return await InitAndStartAsync(bin, root, password, watch);
        }
        catch
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    private static async Task<PostgresCluster> InitAndStartAsync(string bin, string root, string password, Stopwatch watch)
    {
        var passwordFile = Path.Combine(root, "password");
        await File.WriteAllTextAsync(passwordFile, password);
        if (IsRoot) await RunAsync("chown", asServerUser: false, "postgres", passwordFile);
        await RunServerAsync(bin, "initdb", "-D", Path.Combine(root, "data"), "-U", "postgres", "-A", "scram-sha-256",
            "--pwfile=" + passwordFile, "-E", "UTF8", "--locale=C", "--no-sync");
        File.Delete(passwordFile);
        var initialised = watch.Elapsed;
        // The port is free when asked; should another process take it before the server binds it,
        // pg_ctl fails and another port is tried.
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var options = string.Join(' ',
                $"-p {port}", $"-k {root}", "-c listen_addresses=127.0.0.1", "-c fsync=off", "-c synchronous_commit=off",
                "-c full_page_writes=off", "-c max_connections=300", "-c shared_buffers=32MB");
            try
            {
                await RunServerAsync(bin, "pg_ctl", "-D", Path.Combine(root, "data"), "-l", Path.Combine(root, "server.log"),
                    "-w", "-t", "60", "-o", options, "start");
                var cluster = new PostgresCluster(bin, root, password, port, watch.Elapsed);
                await TestContext.Progress.WriteLineAsync($"PostgreSQL test cluster ({bin}) on port {port} started in {watch.ElapsedMilliseconds} ms (initdb {initialised.TotalMilliseconds:F0} ms)");
                return cluster;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
            }
        }
    }

    private async Task StopAsync()
    {
        try
        {
            await RunServerAsync(_bin, "pg_ctl", "-D", DataFolder, "-m", "fast", "-w", "stop");
        }
        finally
        {
            try { Directory.Delete(_root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>
    /// Clusters left running by a test run that was killed (nothing stopped them): their owner
    /// process is gone, so they are stopped and removed now rather than kept forever.
    /// </summary>
    private static async Task StopAbandonedAsync(string bin)
    {
        foreach (var folder in Directory.EnumerateDirectories(Path.GetTempPath(), FolderPrefix + "*"))
        {
            var ownerFile = Path.Combine(folder, OwnerFile);
            if (!File.Exists(ownerFile) || !int.TryParse(File.ReadAllText(ownerFile), out var owner) || IsAlive(owner)) continue;
            if (File.Exists(Path.Combine(folder, "data", "postmaster.pid")))
            {
                try { await RunServerAsync(bin, "pg_ctl", "-D", Path.Combine(folder, "data"), "-m", "immediate", "-w", "stop"); }
                catch (InvalidOperationException) { }
            }
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The newest installed major version's bin folder: found by globbing, so no version is fixed here.</summary>
    private static string FindBinaries()
    {
        const string debian = "/usr/lib/postgresql";
        var bins = Directory.Exists(debian)
            ? Directory.GetDirectories(debian)
                .Where(d => File.Exists(Path.Combine(d, "bin", "initdb")) && int.TryParse(Path.GetFileName(d), out _))
                .OrderByDescending(d => int.Parse(Path.GetFileName(d), System.Globalization.CultureInfo.InvariantCulture))
                .Select(d => Path.Combine(d, "bin"))
                .ToList()
            : [];
        if (bins.Count == 0) Assert.Fail($"no {debian}/*/bin/initdb: install Debian's postgresql package (scripts/test.sh does).");
        return bins[0];
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static bool IsRoot => Environment.UserName == "root";

    /// <summary>Runs a server binary as the <c>postgres</c> user when the tests run as root.</summary>
    private static Task RunServerAsync(string bin, string tool, params string[] arguments) =>
        RunAsync(Path.Combine(bin, tool), asServerUser: true, arguments);

    private static async Task RunAsync(string file, bool asServerUser, params string[] arguments)
    {
        var start = new ProcessStartInfo { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asServerUser && IsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", "postgres", "--", file }) start.ArgumentList.Add(a);
        }
        else
        {
            start.FileName = file;
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // Started from a folder the postgres user can enter, else initdb warns about the current one.
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {process.ExitCode}: {await error}{await output}");
    }
}

/// <summary>One empty database of the shared test cluster; dropped (its connections ended) on dispose.</summary>
public sealed class PostgresDatabase(PostgresCluster cluster, string name) : IAsyncDisposable
{
    public string Name { get; } = name;

    public string ConnectionString { get; } = cluster.ConnectionString(name);

    /// <summary>
    /// From the next connection on, every transaction is read-only, as on a standby the database
    /// failed over to: writes fail, reads work. Callers clear their pools so no old session lingers.
    /// </summary>
    public Task SetReadOnlyAsync(bool readOnly) =>
        cluster.AdminAsync(readOnly
            ? $"ALTER DATABASE {Name} SET default_transaction_read_only = on"
            : $"ALTER DATABASE {Name} RESET default_transaction_read_only");

    public async ValueTask DisposeAsync() => await cluster.AdminAsync($"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
}
