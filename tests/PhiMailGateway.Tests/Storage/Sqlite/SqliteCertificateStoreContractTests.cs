using Microsoft.Data.Sqlite;
using PhiMailGateway.Certificates;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The certificate store contract against a real SQLite database in a temp folder.</summary>
public sealed class SqliteCertificateStoreContractTests : CertificateStoreContract
{
    private TempDirectory _dir = null!;

    protected override async Task<ICertificateStore> CreateAsync()
    {
        _dir = new TempDirectory();
        var database = new GatewayDatabase(Path.Combine(_dir.Path, "gateway.db"));
        await database.MigrateAsync(CancellationToken.None);
        return new SqlCertificateStore(database, TimeProvider.System);
    }

    protected override Task DestroyAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
