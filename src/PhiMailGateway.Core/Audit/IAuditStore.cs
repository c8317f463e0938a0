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
}
