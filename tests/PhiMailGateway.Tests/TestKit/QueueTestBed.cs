using System.Buffers;
using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Tests.TestKit;

/// <summary>A real spool and queue database in a temp folder, without a host: for tests of the queue and its verbs.</summary>
public sealed class QueueTestBed : IDisposable
{
    private readonly TempDirectory _dir = new();

    private QueueTestBed()
    {
        Options = new GatewayOptions { DataDirectory = _dir.Path, HostName = "gw.test" };
        Spool = new SpoolDirectory(Options);
        Database = new GatewayDatabase(Options);
        Sealer = NewSealer(Options);
        Queue = new SqliteMessageQueue(Database, Sealer, TimeProvider.System);
    }

    /// <summary>The chain sealer a real gateway on <paramref name="options"/> uses (its master key, its head file).</summary>
    public static AuditChainSealer NewSealer(GatewayOptions options) =>
        new(new AuditKeys(MasterKey.LoadOrCreate(options)), new AuditHeadFile(options, NullLogger<AuditHeadFile>.Instance));

    public string DataDirectory => _dir.Path;
    public GatewayOptions Options { get; }
    public SpoolDirectory Spool { get; }
    public GatewayDatabase Database { get; }
    public AuditChainSealer Sealer { get; }
    public IMessageQueue Queue { get; }

    public static async Task<QueueTestBed> CreateAsync()
    {
        var bed = new QueueTestBed();
        bed.Spool.EnsureCreated();
        await bed.Database.MigrateAsync(CancellationToken.None);
        return bed;
    }

    public SpoolMessageAcceptor Acceptor() =>
        new(Spool, Queue, Options, new ProcessingSignal(), TimeProvider.System, NullLogger<SpoolMessageAcceptor>.Instance);

    /// <summary>Accepts a small message from office@practice.example and returns its queue id.</summary>
    public async Task<string> AcceptAsync(params string[] recipients)
    {
        var envelope = new Envelope("office@practice.example", recipients, "frontdesk", "127.0.0.1", "pc", DateTimeOffset.UtcNow, true);
        var result = await Acceptor().AcceptAsync(envelope, new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes("Subject: t\r\n\r\nhello\r\n")), CancellationToken.None);
        return ((AcceptResult.Accepted)result).QueueId;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }
}
