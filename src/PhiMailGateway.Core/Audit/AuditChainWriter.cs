using System.Data;
using Dapper;

namespace PhiMailGateway.Audit;

/// <summary>
/// Appends rows to the chain inside a caller's write transaction. The transaction was opened with
/// BEGIN IMMEDIATE, so it holds the database's write lock: reading the head and appending after it
/// cannot interleave with another writer, and seq stays gap-free.
/// </summary>
internal sealed class AuditChainWriter(AuditKeys keys, IDbConnection connection, IDbTransaction transaction, ChainHead head)
{
    public ChainHead Head { get; private set; } = head;

    public static async Task<AuditChainWriter> OpenAsync(AuditKeys keys, IDbConnection connection, IDbTransaction transaction) =>
        new(keys, connection, transaction, await ChainHead.ReadAsync(connection, transaction));

    public async Task AppendAsync(DisclosureRow row)
    {
        row.Seq = Head.Seq + 1;
        row.PrevMac = Head.Mac;
        row.Mac = keys.ChainMac(row.PrevMac, AuditChain.Canonical(row));
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
        Head = new ChainHead(row.Seq, row.Mac);
    }

    public async Task AppendAsync(AuditEventRow row)
    {
        row.Seq = Head.Seq + 1;
        row.PrevMac = Head.Mac;
        row.Mac = keys.ChainMac(row.PrevMac, AuditChain.Canonical(row));
        await connection.ExecuteAsync(
            """
            INSERT INTO audit_events (seq, prev_mac, mac, recorded_at, type, queue_id, delivery_id, recipient, detail, package_id,
                client_address, user_agent, file_sha256)
            VALUES (@Seq, @PrevMac, @Mac, @RecordedAt, @Type, @QueueId, @DeliveryId, @Recipient, @Detail, @PackageId,
                @ClientAddress, @UserAgent, @FileSha256)
            """, row, transaction);
        Head = new ChainHead(row.Seq, row.Mac);
    }
}

/// <summary>The newest row of the chain: its seq and mac; seq 0 and <see cref="AuditChain.GenesisMac"/> when empty.</summary>
public sealed record ChainHead(long Seq, string Mac)
{
    public static readonly ChainHead Genesis = new(0, AuditChain.GenesisMac);

    public static async Task<ChainHead> ReadAsync(IDbConnection connection, IDbTransaction? transaction = null)
    {
        var row = await connection.QueryFirstOrDefaultAsync<HeadRow>(
            """
            SELECT seq, mac FROM disclosures WHERE seq = (SELECT MAX(seq) FROM disclosures)
            UNION ALL
            SELECT seq, mac FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)
            ORDER BY seq DESC LIMIT 1
            """, transaction: transaction);
        return row is null ? Genesis : new ChainHead(row.Seq, row.Mac);
    }

    private sealed class HeadRow
    {
        public long Seq { get; init; }
        public string Mac { get; init; } = "";
    }
}
