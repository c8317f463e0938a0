using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PhiMailGateway.Audit;
using PhiMailGateway.Certificates;
using PhiMailGateway.Configuration;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;
using PhiMailGateway.Storage.Sql;
using PhiMailGateway.Storage.Sqlite;
using PhiMailGateway.Users;

namespace PhiMailGateway.Hosting;

/// <summary>
/// The one place that knows which database backs the stores: the SQLite database (the embedded
/// default) is registered here as the <see cref="ISqlDatabase"/> the shared store bodies run on, and
/// each store's interface once, with its body (the queue with SQLite's way of taking due work).
/// Nothing else in the executable sees SQLite.
/// </summary>
public static class StorageRegistration
{
    public static IHostApplicationBuilder AddStorage(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<IValidateOptions<StorageOptions>, StorageProviderWiredValidator>();
        builder.Services.AddSingleton<GatewayDatabase>();
        builder.Services.AddSingleton<IGatewayStorage>(sp => sp.GetRequiredService<GatewayDatabase>());
        // The shared store bodies (Storage/Sql) run on whichever database this is.
        builder.Services.AddSingleton<ISqlDatabase>(sp => sp.GetRequiredService<GatewayDatabase>());
        builder.Services.AddSingleton<SpoolDirectory>();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => MasterKey.LoadOrCreate(sp.GetRequiredService<GatewayOptions>()));
        // Every store that appends to the audit chain seals its rows with these.
        builder.Services.AddSingleton<AuditKeys>();
        builder.Services.AddSingleton<AuditHeadFile>();
        builder.Services.AddSingleton<AuditChainSealer>();
        builder.Services.AddSingleton<IMessageQueue, SqliteMessageQueue>();
        builder.Services.AddSingleton<IAuditStore, SqlAuditStore>();
        builder.Services.AddSingleton<ICertificateStore, SqlCertificateStore>();
        builder.Services.AddSingleton<IPickupCodes, SqlPickupCodes>();
        builder.Services.AddSingleton<IPickupSessions, SqlPickupSessions>();
        builder.Services.AddSingleton<IPickupPackages, SqlPickupPackages>();
        // The cache is ingress's (serve only): CLI verbs check every password afresh.
        builder.Services.AddSingleton<IUserDirectory>(sp => new SqlUserDirectory(sp.GetRequiredService<ISqlDatabase>(), verified: sp.GetService<VerifiedPasswordCache>()));
        builder.Services.AddSingleton<Guard.IGuardStore, SqlGuardStore>();
        builder.Services.AddSingleton<Direct.IMtaStsPolicyStore, SqlMtaStsPolicyStore>();
        builder.Services.AddSingleton<Guard.IGuardHolds, SqlGuardHolds>();
        builder.Services.AddSingleton<IAuthLockouts>(sp => new SqlAuthLockouts(sp.GetRequiredService<ISqlDatabase>()));
        builder.Services.AddSingleton<ProcessingSignal>();
        builder.Services.AddSingleton<IMessageAcceptor, SpoolMessageAcceptor>();
        builder.Services.AddSingleton<SpoolRecovery>();
        // Registered before ingress, so the folders and database exist before the listener opens.
        builder.Services.AddHostedService<StartupPreparation>();
        return builder;
    }
}

/// <summary>
/// Until every store has its PostgreSQL implementation (and the spool its bodies in the database),
/// the executable registers SQLite for all of them: a gateway told to use PostgreSQL must stop with
/// that said, rather than run on a local SQLite file its operator believes is shared.
/// </summary>
public sealed class StorageProviderWiredValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions options) =>
        options.Provider == StorageProvider.PostgreSql
            ? ValidateOptionsResult.Fail("Storage:Provider: PostgreSql is not available in this version yet (the gateway does not run on it end to end); use Sqlite.")
            : ValidateOptionsResult.Success;
}
