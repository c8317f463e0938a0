namespace PhiMailGateway.Storage;

/// <summary>The storage behind every store as a whole: made ready at start-up, probed while queue work is paused.</summary>
public interface IGatewayStorage
{
    /// <summary>Where the data lives, for an operator's error message (a file path, a server name): never a secret.</summary>
    string Location { get; }

    /// <summary>Creates the storage owner-only when it is new and brings its schema up to date.</summary>
    /// <exception cref="StorageException">The storage cannot be opened or changed.</exception>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>The smallest real write: its success means a commit reaches the disk again.</summary>
    /// <exception cref="StorageException">The write did not commit.</exception>
    Task ProbeWriteAsync(CancellationToken cancellationToken);

    /// <summary>The smallest real read, for the health check: its success means the storage answers.</summary>
    /// <exception cref="StorageException">The storage did not answer.</exception>
    Task ProbeReadAsync(CancellationToken cancellationToken);
}
