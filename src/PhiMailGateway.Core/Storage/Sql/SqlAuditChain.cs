using System.Data.Common;
using Dapper;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Storage.Sql;

/// <summary>
/// Appends rows to the audit chain inside a write transaction of an <see cref="ISqlDatabase"/>.
/// Reading the head and appending after it must not interleave with another writer: SQLite's
/// transactions start with BEGIN IMMEDIATE and so hold the database's write lock already;
/// PostgreSQL's first take the chain's transaction-level advisory lock (<see cref="SqlDialect.ChainLock"/>),
/// shared by every instance on the database and gone with the commit, after which the next holder's
/// head read sees the new rows. A transaction that appends takes it before it touches any other
/// row (<see cref="LockAsync"/>), so one that holds it never waits for a row lock held by one that
/// waits for it: no deadlock.
/// </summary>
internal static class SqlAuditChain
{
    /// <summary>Seals and inserts <paramref name="rows"/> in order after the current head; returns the new head.</summary>
    public static async Task<ChainHead?> AppendAsync(SqlDialect dialect, AuditChainSealer sealer, DbConnection connection, DbTransaction transaction,
        IReadOnlyList<AuditRow> rows)
    {
        // Nothing to append (a DSN's attempt, a gateway without audit): not even the head is read.
        if (rows.Count == 0) return null;
        var head = await OpenAsync(dialect, sealer, connection, transaction);
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
    public static async Task<ChainHead> OpenAsync(SqlDialect dialect, AuditChainSealer sealer, DbConnection connection, DbTransaction transaction)
    {
        await LockAsync(dialect, connection, transaction);
        var head = await ReadHeadAsync(connection, transaction);
        sealer.Opening(head);
        return head;
    }

    /// <summary>
    /// The first thing a transaction that will append to the chain does (held until it ends); nothing
    /// where the write lock already serialises appends. Taking it again later in the same
    /// transaction is harmless.
    /// </summary>
    public static Task LockAsync(SqlDialect dialect, DbConnection connection, DbTransaction transaction) =>
        dialect.ChainLock is { } sql ? connection.ExecuteAsync(sql, transaction: transaction) : Task.CompletedTask;

    public static async Task<ChainHead> ReadHeadAsync(DbConnection connection, DbTransaction? transaction = null)
    {
        // Each MAX(seq) is answered from the primary key's index, in both databases.
        var row = await connection.QueryFirstOrDefaultAsync<HeadRow>(
            """
            SELECT seq, mac FROM disclosures WHERE seq = (SELECT MAX(seq) FROM disclosures)
            UNION ALL
            SELECT seq, mac FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)
            ORDER BY seq DESC LIMIT 1
            """, transaction: transaction);
        return row is null ? ChainHead.Genesis : new ChainHead(row.Seq, row.Mac);
    }

    private static async Task InsertAsync(DbConnection connection, DbTransaction transaction, DisclosureRow row)
    {
        await connection.ExecuteAsync(
            """
            INSERT INTO disclosures (seq, prev_mac, mac, recorded_at, queue_id, message_id, delivery_id, authenticated_user, sender,
                recipient, recipient_name, action, rule_name, purpose, reference, phi_count, phi_kinds, phi_parts, patients_enc, key_id)
            VALUES (@Seq, @PrevMac, @Mac, @RecordedAt, @QueueId, @MessageId, @DeliveryId, @AuthenticatedUser, @Sender,
                @Recipient, @RecipientName, @Action, @RuleName, @Purpose, @Reference, @PhiCount, @PhiKinds, @PhiParts, @PatientsEnc, @KeyId)
            """, row, transaction);
        // One statement per patient: a disclosure names one or two, seldom more.
        foreach (var lookup in row.PatientLookups.Distinct(StringComparer.Ordinal))
        {
            await connection.ExecuteAsync("INSERT INTO disclosure_patients (disclosure_seq, patient_lookup) VALUES (@Seq, @lookup)",
                new { row.Seq, lookup }, transaction);
        }
    }

    private static Task InsertAsync(DbConnection connection, DbTransaction transaction, AuditEventRow row) =>
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
