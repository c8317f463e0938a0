using Dapper;
using PhiMailGateway.Direct;

namespace PhiMailGateway.Storage.Sql;

/// <summary>MTA-STS policies in <c>mta_sts_policies</c>; on a shared database a policy one instance fetched holds for all of them.</summary>
public sealed class SqlMtaStsPolicyStore(ISqlDatabase database) : IMtaStsPolicyStore
{
    public Task<MtaStsPolicy?> FindAsync(string domain, CancellationToken cancellationToken) =>
        database.ReadAsync(async c =>
        {
            var row = await c.QuerySingleOrDefaultAsync<(string Domain, string PolicyId, string Mode, string Mx, long MaxAgeS, long FetchedAt)?>(
                "SELECT domain, policy_id, mode, mx, max_age_s, fetched_at FROM mta_sts_policies WHERE domain = @domain",
                new { domain = domain.ToLowerInvariant() });
            if (row is not { } r || !Enum.TryParse<MtaStsMode>(r.Mode, out var mode)) return null;
            return new MtaStsPolicy(r.Domain, r.PolicyId, mode, r.Mx.Split('\n', StringSplitOptions.RemoveEmptyEntries), TimeSpan.FromSeconds(r.MaxAgeS),
                DateTimeOffset.FromUnixTimeMilliseconds(r.FetchedAt));
        }, cancellationToken);

    public Task SaveAsync(MtaStsPolicy policy, CancellationToken cancellationToken) =>
        database.WriteAsync((c, t) => c.ExecuteAsync(
            """
            INSERT INTO mta_sts_policies (domain, policy_id, mode, mx, max_age_s, fetched_at) VALUES (@domain, @Id, @mode, @mx, @maxAge, @fetchedAt)
            ON CONFLICT (domain) DO UPDATE SET policy_id = excluded.policy_id, mode = excluded.mode, mx = excluded.mx,
                max_age_s = excluded.max_age_s, fetched_at = excluded.fetched_at
            """,
            new
            {
                domain = policy.Domain.ToLowerInvariant(), policy.Id, mode = policy.Mode.ToString(), mx = string.Join('\n', policy.Mx),
                maxAge = (long)policy.MaxAge.TotalSeconds, fetchedAt = policy.FetchedAt.ToUnixTimeMilliseconds(),
            }, t), cancellationToken);
}
