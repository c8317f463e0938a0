using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using PhiMailGateway.Audit;
using PhiMailGateway.Configuration;
using PhiMailGateway.Hosting;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Storage;
using PhiMailGateway.Users;

namespace PhiMailGateway.Cli;

/// <summary>Options sections a CLI verb needs; only these are bound and validated up front.</summary>
[Flags]
public enum CliSections
{
    /// <summary>Always included: every verb needs the data directory.</summary>
    Gateway = 1,
    Smtp = 2,
    Relay = 4,
    Audit = 8,
    Smime = 16,
    Pickup = 32,
    Metrics = 64,
    Guard = 128,
    Direct = 256,
    All = Gateway | Smtp | Relay | Audit | Smime | Pickup | Metrics | Guard | Direct,
}

/// <summary>
/// What a CLI verb (users, queue, …) runs against: the same configuration sources and the same
/// service registrations as <c>serve</c>, without starting anything. <see cref="Create"/> binds and
/// validates the requested options sections at once, so a bad value surfaces before the verb touches
/// any state; the exceptions it throws (<see cref="OptionsValidationException"/> with every failure,
/// or the binder's <see cref="InvalidOperationException"/> naming the key) are the ones
/// <see cref="GatewayCommandLine"/> turns into "Configuration error: …" and exit code 2.
/// Verbs pick their sections: Relay is left out of <c>users</c> on purpose, because Relay:Password
/// comes from the service's environment and an IT shell usually does not have it.
/// </summary>
public sealed class CliContext : IDisposable, IAsyncDisposable
{
    private readonly IHost _host;

    private CliContext(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    public GatewayOptions Gateway => Get<GatewayOptions>();

    public T Get<T>() where T : notnull => _host.Services.GetRequiredService<T>();

    /// <param name="configArgs">The <c>--Section:Key=value</c> overrides from the command line.</param>
    /// <param name="sections">Options sections to validate now; <see cref="CliSections.Gateway"/> is always added.</param>
    /// <param name="configure">Extra registrations for the verb (for example the queue store).</param>
    /// <param name="overrides">In-memory configuration on top of everything (tests).</param>
    public static CliContext Create(
        string[] configArgs,
        CliSections sections = CliSections.Gateway,
        Action<IHostApplicationBuilder>? configure = null,
        IDictionary<string, string?>? overrides = null)
    {
        var builder = GatewayHost.CreateBuilder(configArgs, overrides, withDefaults: false);
        configure?.Invoke(builder);
        var host = builder.Build();
        try
        {
            Validate(host.Services, sections | CliSections.Gateway);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return new CliContext(host);
    }

    /// <summary>Resolves each requested section (binding, then validators) and reports all validation failures together.</summary>
    internal static void Validate(IServiceProvider services, CliSections sections)
    {
        var failures = new List<string>();
        failures.AddRange(SecretSources.Check(services.GetRequiredService<IConfiguration>()));
        if (sections.HasFlag(CliSections.Gateway)) Collect<GatewayOptions>(services, failures);
        // Every verb reads or writes the stores, like the data directory: checked with it.
        if (sections.HasFlag(CliSections.Gateway)) Collect<StorageOptions>(services, failures);
        if (sections.HasFlag(CliSections.Smtp)) Collect<SmtpOptions>(services, failures);
        if (sections.HasFlag(CliSections.Relay)) Collect<RelayOptions>(services, failures);
        if (sections.HasFlag(CliSections.Audit)) Collect<AuditOptions>(services, failures);
        if (sections.HasFlag(CliSections.Smime)) Collect<PhiMailGateway.Protection.Smime.SmimeOptions>(services, failures);
        if (sections.HasFlag(CliSections.Pickup)) Collect<PickupOptions>(services, failures);
        if (sections.HasFlag(CliSections.Metrics)) Collect<MetricsOptions>(services, failures);
        if (sections.HasFlag(CliSections.Guard)) Collect<PhiMailGateway.Guard.GuardOptions>(services, failures);
        if (sections.HasFlag(CliSections.Direct)) Collect<PhiMailGateway.Direct.DirectOptions>(services, failures);
        if (failures.Count > 0) throw new OptionsValidationException(Options.DefaultName, typeof(CliContext), failures);
    }

    private static void Collect<T>(IServiceProvider services, List<string> failures) where T : class
    {
        try
        {
            _ = services.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException e)
        {
            failures.AddRange(e.Failures);
        }
    }

    public void Dispose() => _host.Dispose();

    public ValueTask DisposeAsync() => _host is IAsyncDisposable a ? a.DisposeAsync() : ValueTask.CompletedTask;
}

/// <summary>Shorthands verbs use often.</summary>
public static class CliContextExtensions
{
    public static IGatewayStorage Database(this CliContext context) => context.Get<IGatewayStorage>();

    public static IUserDirectory Users(this CliContext context) => context.Get<IUserDirectory>();
}
