using Microsoft.Data.Sqlite;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The pickup package records contract against a real SQLite database.</summary>
public sealed class SqlitePickupPackagesContractTests : PickupPackagesContract
{
    private TempDirectory _dir = null!;

    protected override async Task<(IPickupPackages Packages, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time)
    {
        _dir = new TempDirectory();
        var database = new GatewayDatabase(new GatewayOptions { DataDirectory = _dir.Path, HostName = "gw.test" });
        await database.MigrateAsync(CancellationToken.None);
        return (new SqlPickupPackages(database, time), new SqlPickupSessions(database, options, time));
    }

    protected override Task DestroyAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
