using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage.PostgreSql;

namespace PhiMailGateway.Tests.Storage.PostgreSql;

/// <summary>The pickup package records contract against a fresh database of the test cluster.</summary>
public sealed class PostgreSqlPickupPackagesContractTests : PickupPackagesContract
{
    private PostgreSqlTestStorage _storage = null!;

    protected override async Task<(IPickupPackages Packages, IPickupSessions Sessions)> CreateAsync(PickupOptions options, TimeProvider time)
    {
        _storage = await PostgreSqlTestStorage.CreateAsync();
        return (new SqlPickupPackages(_storage.Storage, time), new SqlPickupSessions(_storage.Storage, options, time));
    }

    protected override async Task DestroyAsync() => await _storage.DisposeAsync();
}
