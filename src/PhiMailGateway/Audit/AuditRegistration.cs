using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace PhiMailGateway.Audit;

public static class AuditRegistration
{
    /// <summary>
    /// The audit log: disclosure records and events in gateway.db, its head file, `audit verify` and
    /// `audit export`. The gateway does not start without it (<see cref="Hosting.RequiredParts"/>):
    /// invariant 2 has no stand-in. The chain's store and sealer are storage's (AddStorage).
    /// </summary>
    public static IHostApplicationBuilder AddAudit(this IHostApplicationBuilder builder)
    {
        builder.Services.AddSingleton<DisclosureLog>();
        builder.Services.AddSingleton<IDisclosureRecorder>(sp => sp.GetRequiredService<DisclosureLog>());
        builder.Services.AddSingleton<IAuditTrail>(sp => sp.GetRequiredService<DisclosureLog>());
        builder.Services.AddSingleton<AuditVerifier>();
        builder.Services.AddSingleton<AccountingExport>();
        builder.Services.AddSingleton<HeadNotes.AuditHeadSignal>();
        builder.Services.AddSingleton<HeadNotes.HeadNoteMailer>();
        builder.Services.AddHostedService<AuditStartup>();
        // After AuditStartup, so the start-up note is of a head already anchored in head.log.
        builder.Services.AddHostedService<AuditHeadNotePublisher>();
        return builder;
    }
}

/// <summary>
/// At start-up, after the database is migrated and before any message is processed: creates the
/// head file for a new log, or notes the current head, which anchors records a crash left written
/// but not yet noted.
/// </summary>
public sealed class AuditStartup(DisclosureLog log, IAuditStore store) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await store.OpenChainAsync(cancellationToken);
        await log.CommittedAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
