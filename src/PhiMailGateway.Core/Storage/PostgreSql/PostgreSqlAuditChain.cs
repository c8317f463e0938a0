using Dapper;
using Npgsql;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.PostgreSql;

/// <summary>
/// Appends rows to the one audit chain that every instance on the database writes. The append
/// first takes the chain's transaction-level advisory lock, so reading the head and appending
/// after it cannot interleave with another transaction of this or any other instance; the lock
/// goes with the commit (or rollback), after which the next holder's head read sees the new rows.
/// It is taken before the transaction touches any other row, so a transaction that holds it never
/// waits for a row lock held by one that waits for it: no deadlock.
/// </summary>
internal static class PostgreSqlAuditChain
{
    /// <summary>Seals and inserts <paramref name="rows"/> in order after the current head; returns the new head.</summary>
    public static async Task<ChainHead?> AppendAsync(AuditChainSealer sealer, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, IReadOnlyList<AuditRow> rows)
    {
        // Nothing to append (a DSN's attempt, a gateway without audit): not even the lock is taken.
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

    /// <summary>Takes the chain lock, reads the head and lets the sealer see it before the first append.</summary>
    public static async Task<ChainHead> OpenAsync(AuditChainSealer sealer, System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction)
    {
        await LockAsync(connection, transaction);
        var head = await ReadHeadAsync(connection, transaction);
        sealer.Opening(head);
        return head;
    }

    /// <summary>Held until the transaction ends: the first thing a transaction that appends to the chain does.</summary>
    public static Task LockAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction) =>
        connection.ExecuteAsync("SELECT pg_advisory_xact_lock(@AuditChainLock)", new { PostgreSqlGatewayStorage.AuditChainLock }, transaction);

    public static async Task<ChainHead> ReadHeadAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction? transaction = null)
    {
        var row = await connection.QueryFirstOrDefaultAsync<HeadRow>(
            """
            (SELECT seq, mac FROM disclosures ORDER BY seq DESC LIMIT 1)
            UNION ALL
            (SELECT seq, mac FROM audit_events ORDER BY seq DESC LIMIT 1)
            ORDER BY seq DESC LIMIT 1
            """, transaction: transaction);
        return row is null ? ChainHead.Genesis : new ChainHead(row.Seq, row.Mac);
    }

    private static async Task InsertAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, DisclosureRow row)
    {
        await connection.ExecuteAsync(
            """
            INSERT INTO disclosures (seq, prev_mac, mac, recorded_at, queue_id, message_id, delivery_id, authenticated_user, sender,
                recipient, recipient_name, action, rule_name, purpose, reference, phi_count, phi_kinds, phi_parts, patients_enc, key_id)
            VALUES (@Seq, @PrevMac, @Mac, @RecordedAt, @QueueId, @MessageId, @DeliveryId, @AuthenticatedUser, @Sender,
                @Recipient, @RecipientName, @Action, @RuleName, @Purpose, @Reference, @PhiCount, @PhiKinds, @PhiParts, @PatientsEnc, @KeyId)
            """, row, transaction);
        var lookups = row.PatientLookups.Distinct(StringComparer.Ordinal).ToArray();
        if (lookups.Length > 0)
        {
            await connection.ExecuteAsync("INSERT INTO disclosure_patients (disclosure_seq, patient_lookup) SELECT @Seq, unnest(@lookups)",
                new { row.Seq, lookups }, transaction);
        }
    }

    private static Task InsertAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, AuditEventRow row) =>
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
