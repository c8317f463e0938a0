using Dapper;
using Org.BouncyCastle.X509;
using PhiMailGateway.Certificates;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// Recipient S/MIME certificates (tables <c>certificates</c>, <c>certificate_addresses</c>,
/// <c>certificate_crls</c>); on a shared database a certificate imported through one instance
/// encrypts on all of them. Names are ordered byte by byte whatever the database's collation.
/// </summary>
public sealed class SqlCertificateStore(ISqlDatabase database, TimeProvider time) : ICertificateStore
{
    private const string CertificateColumns = "c.thumbprint AS Thumbprint, c.is_authority AS IsAuthority, c.der AS Der";

    private readonly string _boundAddresses =
        $"SELECT address FROM certificate_addresses WHERE thumbprint = @thumbprint ORDER BY {database.Dialect.Binary("address")}";

    private readonly string _allCertificates =
        $"SELECT {CertificateColumns} FROM certificates c ORDER BY {database.Dialect.Binary("c.subject")}, c.thumbprint";

    private readonly string _allBindings =
        $"SELECT address, thumbprint FROM certificate_addresses ORDER BY {database.Dialect.Binary("address")}";

    public async Task<ImportResult> ImportAsync(CertificateBundle bundle, string? address, CancellationToken cancellationToken)
    {
        address = CertificateImportRules.Check(bundle, address);
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            var imported = new List<ImportedCertificate>();
            foreach (var certificate in bundle.Certificates)
            {
                var thumbprint = CertificateFacts.Thumbprint(certificate);
                var authority = CertificateFacts.IsAuthority(certificate);
                var inserted = await connection.ExecuteAsync(
                    """
                    INSERT INTO certificates (thumbprint, subject, issuer, serial_number, not_before, not_after, is_authority, der, imported_at)
                    VALUES (@thumbprint, @subject, @issuer, @serial, @notBefore, @notAfter, @authority, @der, @now)
                    ON CONFLICT (thumbprint) DO NOTHING
                    """,
                    new
                    {
                        thumbprint,
                        subject = CertificateFacts.Name(certificate.SubjectDN),
                        issuer = CertificateFacts.Name(certificate.IssuerDN),
                        serial = certificate.SerialNumber.ToString(16).ToUpperInvariant(),
                        notBefore = new DateTimeOffset(certificate.NotBefore, TimeSpan.Zero).ToUnixTimeMilliseconds(),
                        notAfter = new DateTimeOffset(certificate.NotAfter, TimeSpan.Zero).ToUnixTimeMilliseconds(),
                        authority,
                        der = certificate.GetEncoded(),
                        now,
                    }, transaction);
                var addresses = authority ? [] : address is not null ? [address] : CertificateFacts.Addresses(certificate).Order(StringComparer.Ordinal).ToList();
                foreach (var a in addresses)
                {
                    inserted += await connection.ExecuteAsync(
                        "INSERT INTO certificate_addresses (address, thumbprint) VALUES (@a, @thumbprint) ON CONFLICT (address, thumbprint) DO NOTHING",
                        new { a, thumbprint }, transaction);
                }
                var bound = (await connection.QueryAsync<string>(
                    _boundAddresses, new { thumbprint }, transaction)).ToList();
                imported.Add(new ImportedCertificate(new StoredCertificate(thumbprint, certificate, authority, bound), inserted > 0));
            }
            var newCrls = 0;
            foreach (var crl in bundle.Crls)
            {
                newCrls += await connection.ExecuteAsync(
                    """
                    INSERT INTO certificate_crls (crl_id, issuer, this_update, next_update, der, imported_at)
                    VALUES (@id, @issuer, @thisUpdate, @nextUpdate, @der, @now)
                    ON CONFLICT (crl_id) DO NOTHING
                    """,
                    new
                    {
                        id = CertificateFacts.Thumbprint(crl),
                        issuer = CertificateFacts.Name(crl.IssuerDN),
                        thisUpdate = new DateTimeOffset(crl.ThisUpdate, TimeSpan.Zero).ToUnixTimeMilliseconds(),
                        nextUpdate = crl.NextUpdate is { } next ? new DateTimeOffset(next, TimeSpan.Zero).ToUnixTimeMilliseconds() : (long?)null,
                        der = crl.GetEncoded(),
                        now,
                    }, transaction);
            }
            return new ImportResult(imported, newCrls, bundle.Crls.Count - newCrls);
        }, cancellationToken);
    }

    public Task<int> RemoveAsync(string addressOrThumbprint, CancellationToken cancellationToken)
    {
        var key = CertificateFacts.NormalizeAddress(addressOrThumbprint);
        return database.WriteAsync(async (connection, transaction) =>
        {
            if (!CertificateFacts.IsAddress(key))
            {
                var thumbprint = key.Replace(":", "", StringComparison.Ordinal).ToUpperInvariant();
                await connection.ExecuteAsync("DELETE FROM certificate_addresses WHERE thumbprint = @thumbprint", new { thumbprint }, transaction);
                return await connection.ExecuteAsync("DELETE FROM certificates WHERE thumbprint = @thumbprint", new { thumbprint }, transaction);
            }
            var thumbprints = (await connection.QueryAsync<string>(
                "SELECT thumbprint FROM certificate_addresses WHERE address = @key", new { key }, transaction)).ToList();
            var removed = await connection.ExecuteAsync("DELETE FROM certificate_addresses WHERE address = @key", new { key }, transaction);
            foreach (var thumbprint in thumbprints)
            {
                // A recipient certificate nobody uses any more goes too; a shared one stays.
                await connection.ExecuteAsync(
                    """
                    DELETE FROM certificates WHERE thumbprint = @thumbprint AND NOT is_authority
                      AND NOT EXISTS (SELECT 1 FROM certificate_addresses a WHERE a.thumbprint = @thumbprint)
                    """, new { thumbprint }, transaction);
            }
            return removed;
        }, cancellationToken);
    }

    public Task<CertificateSnapshot> LoadAllAsync(CancellationToken cancellationToken) =>
        database.ReadAsync(connection => LoadAllAsync(connection, cancellationToken), cancellationToken);

    private async Task<CertificateSnapshot> LoadAllAsync(System.Data.IDbConnection connection, CancellationToken cancellationToken)
    {
        var rows = (await connection.QueryAsync<CertificateRow>(new CommandDefinition(
            _allCertificates, cancellationToken: cancellationToken))).ToList();
        var bindings = (await connection.QueryAsync<(string Address, string Thumbprint)>(new CommandDefinition(
            _allBindings, cancellationToken: cancellationToken)))
            .ToLookup(b => b.Thumbprint, b => b.Address);
        var all = rows.Select(r => ToStored(r, bindings[r.Thumbprint].ToList())).ToList();
        return new CertificateSnapshot(all.Where(c => !c.IsAuthority).ToList(), all.Where(c => c.IsAuthority).Select(c => c.Certificate).ToList(),
            await CrlsAsync(connection, cancellationToken));
    }

    public Task<CertificateSnapshot> LoadForAsync(string address, CancellationToken cancellationToken)
    {
        var key = CertificateFacts.NormalizeAddress(address);
        return database.ReadAsync(connection => LoadForAsync(connection, key, cancellationToken), cancellationToken);
    }

    private static async Task<CertificateSnapshot> LoadForAsync(System.Data.IDbConnection connection, string key, CancellationToken cancellationToken)
    {
        var recipients = (await connection.QueryAsync<CertificateRow>(new CommandDefinition(
            $"""
            SELECT {CertificateColumns} FROM certificates c
            JOIN certificate_addresses a ON a.thumbprint = c.thumbprint
            WHERE a.address = @key AND NOT c.is_authority
            """, new { key }, cancellationToken: cancellationToken)))
            .Select(r => ToStored(r, [key])).ToList();
        if (recipients.Count == 0) return new CertificateSnapshot([], [], []);
        var authorities = (await connection.QueryAsync<CertificateRow>(new CommandDefinition(
            $"SELECT {CertificateColumns} FROM certificates c WHERE c.is_authority", cancellationToken: cancellationToken)))
            .Select(r => ToStored(r, []).Certificate).ToList();
        return new CertificateSnapshot(recipients, authorities, await CrlsAsync(connection, cancellationToken));
    }

    private static async Task<IReadOnlyList<X509Crl>> CrlsAsync(System.Data.IDbConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<byte[]>(new CommandDefinition("SELECT der FROM certificate_crls ORDER BY this_update, crl_id", cancellationToken: cancellationToken)))
            .Select(der => new X509Crl(der)).ToList();

    private static StoredCertificate ToStored(CertificateRow row, IReadOnlyList<string> addresses) =>
        new(row.Thumbprint, ParsedCertificates.Get(row.Thumbprint, row.Der), row.IsAuthority, addresses);

    // Properties, not a positional record: Dapper converts SQLite's 0/1 into the bool only on a setter.
    private sealed class CertificateRow
    {
        public string Thumbprint { get; init; } = "";
        public bool IsAuthority { get; init; }
        public byte[] Der { get; init; } = [];
    }
}
