namespace PhiMailGateway.Audit;

/// <summary>
/// What a store does to each row it appends to the audit chain, whatever the database: number it
/// after the head and MAC it over the previous MAC. A store calls it while it holds the chain's
/// write lock, so reading the head and appending after it cannot interleave and seq stays gap-free.
/// </summary>
public sealed class AuditChainSealer(AuditKeys keys, AuditHeadFile headFile)
{
    /// <summary>
    /// Before the first append of a transaction, still under the write lock: a missing head file
    /// with an empty chain means a fresh log, never a deleted one, so it is created now.
    /// </summary>
    public void Opening(ChainHead head)
    {
        if (head.Seq == 0) headFile.CreateIfMissing();
    }

    /// <summary>Fills the chain fields of <paramref name="row"/> as the next link after <paramref name="head"/>; returns the new head.</summary>
    public ChainHead Seal(ChainHead head, AuditRow row)
    {
        row.Seq = head.Seq + 1;
        row.PrevMac = head.Mac;
        row.Mac = keys.ChainMac(row.PrevMac, row switch
        {
            DisclosureRow disclosure => AuditChain.Canonical(disclosure),
            AuditEventRow auditEvent => AuditChain.Canonical(auditEvent),
            _ => throw new ArgumentException($"{row.GetType().Name} is not an audit chain row.", nameof(row)),
        });
        return new ChainHead(row.Seq, row.Mac);
    }
}
