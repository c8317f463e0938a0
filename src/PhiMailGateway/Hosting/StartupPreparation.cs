using Microsoft.Extensions.Hosting;
using PhiMailGateway.Routing;
using PhiMailGateway.Spool;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Hosting;

/// <summary>
/// Runs before the listener opens: creates the spool folders owner-only, migrates the database,
/// and rescans the spool so every message accepted before a crash is back in the queue. Taking
/// the <see cref="MasterKey"/> creates it on first start, owner-only, before anything needs it.
/// </summary>
public sealed class StartupPreparation(SpoolDirectory spool, IGatewayStorage storage, SpoolRecovery recovery, MasterKey masterKey, RuleSetProvider rules) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        spool.EnsureCreated();
        _ = masterKey.KeyId;
        _ = rules.Current; // invalid rules stop start-up here, before the listener opens
        await storage.MigrateAsync(cancellationToken);
        await recovery.RecoverAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
