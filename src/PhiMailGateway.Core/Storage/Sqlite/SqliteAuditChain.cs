using System.Data;
using Dapper;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.Sqlite;

/// <summary>
/// Appends rows to the audit chain inside a write transaction of <see cref="GatewayDatabase"/>.
/// Every write transaction starts with BEGIN IMMEDIATE, so it holds the database's write lock:
/// reading the head and appending after it cannot interleave with another writer.
/// </summary>
internal static class SqliteAuditChain
{
    /// <summary>Seals and inserts <paramref name="rows"/> in order after the current head; returns the new head.</summary>
    public static async Task<ChainHead?> AppendAsync(AuditChainSealer sealer, IDbConnection connection, IDbTransaction transaction, IReadOnlyList<AuditRow> rows)
    {
        // Nothing to append (a DSN's attempt, a gateway without audit): not even the head is read.
        if (rows.Count == 0) return null;
        var head = await OpenAsync(sealer, connection, transaction);
        foreach (var row in rows)
        {
            head = sealer.Seal(head, row);
            switch (row)
            {
                case DisclosureRow disclosure:
                    await InsertAsync(connection, transaction, disclosure);
                    break;
                case AuditEventRow auditEvent:
                    await InsertAsync(connection, transaction, auditEvent);
                    break;
            }
        }
        return head;
    }

    /// <summary>Reads the head under the write lock and lets the sealer see it before the first append.</summary>
    public static async Task<ChainHead> OpenAsync(AuditChainSealer sealer, IDbConnection connection, IDbTransaction transaction)
    {
        var head = await ReadHeadAsync(connection, transaction);
        sealer.Opening(head);
        return head;
    }

    public static async Task<ChainHead> ReadHeadAsync(IDbConnection connection, IDbTransaction? transaction = null)
    {
        var row = await connection.QueryFirstOrDefaultAsync<HeadRow>(
            """
            SELECT seq, mac FROM disclosures WHERE seq = (SELECT MAX(seq) FROM disclosures)
            UNION ALL
            SELECT seq, mac FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)
            ORDER BY seq DESC LIMIT 1
            """, transaction: transaction);
        return row is null ? ChainHead.Genesis : new ChainHead(row.Seq, row.Mac);
    }

    private static async Task InsertAsync(IDbConnection connection, IDbTransaction transaction, DisclosureRow row)
    {
        await connection.ExecuteAsync(
            """
            INSERT INTO disclosures (seq, prev_mac, mac, recorded_at, queue_id, message_id, delivery_id, authenticated_user, sender,
                recipient, recipient_name, action, rule_name, purpose, reference, phi_count, phi_kinds, phi_parts, patients_enc, key_id)
            VALUES (@Seq, @PrevMac, @Mac, @RecordedAt, @QueueId, @MessageId, @DeliveryId, @AuthenticatedUser, @Sender,
                @Recipient, @RecipientName, @Action, @RuleName, @Purpose, @Reference, @PhiCount, @PhiKinds, @PhiParts, @PatientsEnc, @KeyId)
            """, row, transaction);
        foreach (var lookup in row.PatientLookups.Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync("INSERT INTO disclosure_patients (disclosure_seq, patient_lookup) VALUES (@Seq, @lookup)",
                new { row.Seq, lookup }, transaction);
        }
    }

    private static Task InsertAsync(IDbConnection connection, IDbTransaction transaction, AuditEventRow row) =>
        connection.ExecuteAsync(
            """
            INSERT INTO audit_events (seq, prev_mac, mac, recorded_at, type, queue_id, delivery_id, recipient, detail, package_id,
                client_address, user_agent, file_sha256)
            VALUES (@Seq, @PrevMac, @Mac, @RecordedAt, @Type, @QueueId, @DeliveryId, @Recipient, @Detail, @PackageId,
                @ClientAddress, @UserAgent, @FileSha256)
            """, row, transaction);

    private sealed class HeadRow
    {
        public long Seq { get; init; }
        public string Mac { get; init; } = "";
    }
}
