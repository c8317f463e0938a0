using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Protection.Pickup;

/// <summary>
/// Where the encrypted package files live: <c>&lt;data&gt;/pickup/&lt;package&gt;-&lt;n&gt;.pkg</c>, side by
/// side (a folder per package cost a mkdir, a folder fsync and an rmdir per message, which showed in
/// the benchmark). The folder and every file are owner-only from creation.
/// </summary>
public sealed class PickupBlobFolder
{
    // Packages created together share one fsync of the folder that names their files.
    private readonly CoalescingFlush _rootSync;

    public PickupBlobFolder(GatewayOptions gateway)
    {
        Root = Path.Combine(gateway.FullDataDirectory, "pickup");
        _rootSync = new CoalescingFlush(() => DirectorySync.Flush(Root));
    }

    public string Root { get; }

    public string PackageFile(string packageId, int index) => Path.Combine(Root, $"{packageId}-{index}.pkg");

    /// <summary>The package's files that exist now (at most <paramref name="fileCount"/>; all of them when null).</summary>
    public IReadOnlyList<string> ExistingFiles(string packageId, int? fileCount = null) =>
        fileCount is { } n
            ? Enumerable.Range(0, n).Select(i => PackageFile(packageId, i)).Where(File.Exists).ToList()
            : Directory.Exists(Root) ? Directory.GetFiles(Root, packageId + "-*.pkg") : [];

    /// <summary>Creates the folder, owner-only, if it is missing (retention or an operator may have removed it).</summary>
    public void EnsureExists()
    {
        if (!Directory.Exists(Root)) OwnerOnly.CreateDirectory(Root);
    }

    /// <summary>A new, owner-only file for one of the package's files (after <see cref="EnsureExists"/>); fails if it exists.</summary>
    public FileStream CreateFile(string packageId, int index) => OwnerOnly.CreateNew(PackageFile(packageId, index));

    /// <summary>Makes the names of the files created so far durable (the files themselves are flushed when written).</summary>
    public Task FlushNamesAsync() => _rootSync.FlushAsync();

    /// <summary>Deletes the package's files that exist (at most <paramref name="fileCount"/>; all of them when null).</summary>
    public void DeletePackageFiles(string packageId, int? fileCount)
    {
        foreach (var path in ExistingFiles(packageId, fileCount)) TryDelete(path);
    }

    /// <summary>
    /// Deletes the files of no live package (left over by a crash between purge and delete, or by a
    /// package whose row never committed) last written before <paramref name="writtenBefore"/>: a file
    /// being written right now has no row yet. Returns how many went.
    /// </summary>
    public int RemoveOrphans(IReadOnlySet<string> livePackageIds, DateTime writtenBefore)
    {
        if (!Directory.Exists(Root)) return 0;
        var removed = 0;
        foreach (var file in Directory.GetFiles(Root, "*.pkg"))
        {
            var name = Path.GetFileNameWithoutExtension(file);
            var dash = name.LastIndexOf('-');
            var packageId = dash > 0 ? name[..dash] : name;
            if (livePackageIds.Contains(packageId) || File.GetLastWriteTimeUtc(file) > writtenBefore) continue;
            TryDelete(file);
            removed++;
        }
        return removed;
    }

    // Best effort: a file that cannot go now is an orphan the next sweep removes.
    internal static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
