namespace PhiMailGateway.Audit;

/// <summary>
/// The audit chain's storage: append-only, each row sealed after the head in the transaction that
/// appends it. Records that belong to a queue state change are appended through the queue's own
/// transaction instead (<see cref="Queue.IMessageQueue.CommitDisclosureAsync"/>). Storage failures
/// come out as <see cref="Storage.StorageException"/>.
/// </summary>
public interface IAuditStore
{
    /// <summary>Seals and appends <paramref name="rows"/> in order, in one transaction; returns the committed head.</summary>
    Task<ChainHead> AppendAsync(IReadOnlyList<AuditRow> rows, CancellationToken cancellationToken);

    /// <summary>The newest committed row; <see cref="ChainHead.Genesis"/> for an empty chain.</summary>
    Task<ChainHead> ReadHeadAsync(CancellationToken cancellationToken);

    /// <summary>
    /// At start-up: under the chain's write lock, so no record can commit meanwhile, an empty chain
    /// gets its head file (<see cref="AuditChainSealer.Opening"/>).
    /// </summary>
    Task OpenChainAsync(CancellationToken cancellationToken);

    /// <summary>`audit verify`: every row of the chain as stored, and what the storage says about its own append-only guards.</summary>
    Task<StoredAuditChain> ReadChainAsync(CancellationToken cancellationToken);

    /// <summary>Disclosure records matching <paramref name="filter"/>, in chain order, with their patient lookups not loaded.</summary>
    Task<IReadOnlyList<DisclosureRow>> FindDisclosuresAsync(DisclosureFilter filter, CancellationToken cancellationToken);

    /// <summary>
    /// Events about the given messages (by queue id) and pickup packages (by package id, events
    /// of the pickup page that carry no queue id), in chain order.
    /// </summary>
    Task<IReadOnlyList<AuditEventRow>> FindEventsAsync(IReadOnlyCollection<string> queueIds, IReadOnlyCollection<string> packageIds,
        CancellationToken cancellationToken);

    /// <summary>Events of the given types recorded in [<paramref name="since"/>, <paramref name="until"/>), in chain order.</summary>
    Task<IReadOnlyList<AuditEventRow>> FindEventsOfTypesAsync(IReadOnlyCollection<string> types, DateTimeOffset? since, DateTimeOffset? until,
        CancellationToken cancellationToken);
}

/// <param name="Disclosures">In seq order, each with its patient lookups.</param>
/// <param name="Events">In seq order.</param>
/// <param name="OrphanLookupSeqs">Seqs that have patient lookups but no disclosure record (rows removed behind the gateway's back).</param>
/// <param name="MissingGuards">The storage's guards that refuse changing or removing audit rows (triggers, rules, grants) that are gone, by name.</param>
public sealed record StoredAuditChain(
    IReadOnlyList<DisclosureRow> Disclosures,
    IReadOnlyList<AuditEventRow> Events,
    IReadOnlyList<long> OrphanLookupSeqs,
    IReadOnlyList<string> MissingGuards);

/// <param name="PatientLookup">The keyed hash of a PatientID (<see cref="AuditKeys.PatientLookup"/>): the store never sees the id.</param>
/// <param name="Recipient">Compared without regard to case.</param>
public sealed record DisclosureFilter(DateTimeOffset? Since, DateTimeOffset? Until, string? Recipient, string? PatientLookup);
