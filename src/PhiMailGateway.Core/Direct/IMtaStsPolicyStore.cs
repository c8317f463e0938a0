namespace PhiMailGateway.Direct;

/// <summary>The MTA-STS policies direct delivery learned, one per recipient domain, kept across restarts.</summary>
public interface IMtaStsPolicyStore
{
    Task<MtaStsPolicy?> FindAsync(string domain, CancellationToken cancellationToken);

    /// <summary>Replaces the domain's policy.</summary>
    Task SaveAsync(MtaStsPolicy policy, CancellationToken cancellationToken);
}
