using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.PostgreSql;
using PhiMailGateway.Tests.TestKit;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The pickup codes and sessions contract against a fresh database of the test cluster; packages are made by the real package store.</summary>
public sealed class PostgreSqlPickupCodesAndSessionsContractTests : PickupCodesAndSessionsContract
{
    private PostgreSqlTestStorage _storage = null!;
    private PickupPackageStore _packages = null!;

    protected override async Task<(IPickupCodes Codes, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time)
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        var master = MasterKey.LoadOrCreate(_storage.Options);
        _packages = new PickupPackageStore(new SqlPickupPackages(_storage.Storage, time), master, _storage.Options, options, time);
        return (new SqlPickupCodes(_storage.Storage, master, options, time), new SqlPickupSessions(_storage.Storage, options, time));
    }

    protected override async Task<string> CreatePackageAsync()
    {
        var file = new PackageSource("xray.jpg", "image/jpeg", (s, ct) => s.WriteAsync(DentalCorpus.IntraoralPhotoJpeg(), ct).AsTask());
        var created = await _packages.CreateAsync("Q1", "dr.lee@specialist.example", "office@practice.example", PickupScope.Attachments, [file], CancellationToken.None);
        return created.PackageId;
    }

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
