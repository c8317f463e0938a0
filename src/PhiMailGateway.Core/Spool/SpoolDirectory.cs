using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Spool;

/// <summary>
/// The spool folders, each with one meaning (as in Postfix):
/// <c>tmp</c> being written, not yet accepted; <c>incoming</c> accepted and not yet finished;
/// <c>outbound</c> copies generated for relay (DSNs, and later S/MIME and pickup notices);
/// <c>hold</c> kept for a person to look at; <c>corrupt</c> unreadable files, kept, never retried;
/// <c>scratch</c> short-lived owner-only copies that inspection needs seekable (zip, TNEF).
/// Recovery after a crash is a rescan of <c>incoming</c>, never in-memory state.
/// </summary>
public sealed class SpoolDirectory
{
    public SpoolDirectory(GatewayOptions options)
    {
        Root = Path.Combine(options.FullDataDirectory, "spool");
        Temp = Path.Combine(Root, "tmp");
        Incoming = Path.Combine(Root, "incoming");
        Outbound = Path.Combine(Root, "outbound");
        Hold = Path.Combine(Root, "hold");
        Corrupt = Path.Combine(Root, "corrupt");
        Scratch = Path.Combine(Root, "scratch");
    }

    public string Root { get; }
    public string Temp { get; }
    public string Incoming { get; }
    public string Outbound { get; }
    public string Hold { get; }
    public string Corrupt { get; }
    public string Scratch { get; }

    public void EnsureCreated()
    {
        foreach (var dir in new[] { Root, Temp, Incoming, Outbound, Hold, Corrupt, Scratch })
            OwnerOnly.CreateDirectory(dir);
    }

    public string IncomingPath(string queueId) => Path.Combine(Incoming, queueId + ".msg");

    /// <summary>
    /// A path under the spool. Paths come from queue rows; a row that points elsewhere (a database
    /// restored on another machine, or edited by hand) must never delete a file outside the spool.
    /// </summary>
    public bool Contains(string path) =>
        Path.GetFullPath(path).StartsWith(Path.GetFullPath(Root) + Path.DirectorySeparatorChar, StringComparison.Ordinal);

    /// <summary>Deletes the files a finished message leaves behind that are the spool's.</summary>
    public void DeleteFinished(IEnumerable<string> paths)
    {
        foreach (var path in paths.Where(Contains)) File.Delete(path);
    }
}
