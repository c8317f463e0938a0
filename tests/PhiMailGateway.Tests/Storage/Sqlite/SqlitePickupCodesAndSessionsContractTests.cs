using Microsoft.Data.Sqlite;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.Sqlite;

/// <summary>The pickup codes and sessions contract against a real SQLite database; packages are made by the real package store.</summary>
public sealed class SqlitePickupCodesAndSessionsContractTests : PickupCodesAndSessionsContract
{
    private TempDirectory _dir = null!;
    private PickupPackageStore _packages = null!;

    protected override async Task<(IPickupCodes Codes, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time)
    {
        _dir = new TempDirectory();
        var gateway = new GatewayOptions { DataDirectory = _dir.Path, HostName = "gw.test" };
        var database = new GatewayDatabase(gateway);
        await database.MigrateAsync(CancellationToken.None);
        var master = MasterKey.LoadOrCreate(gateway);
        _packages = new PickupPackageStore(new SqlPickupPackages(database, time), master, gateway, options, time);
        return (new SqlPickupCodes(database, master, options, time), new SqlPickupSessions(database, options, time));
    }

    protected override async Task<string> CreatePackageAsync()
    {
        var file = new PackageSource("xray.jpg", "image/jpeg", (s, ct) => s.WriteAsync(DentalCorpus.IntraoralPhotoJpeg(), ct).AsTask());
        var created = await _packages.CreateAsync("Q1", "dr.lee@specialist.example", "office@practice.example", PickupScope.Attachments, [file], CancellationToken.None);
        return created.PackageId;
    }

    protected override Task DestroyAsync()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}
