using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit;

/// <summary>
/// <c>&lt;data&gt;/audit/head.log</c>: the chain's head (<c>seq mac</c>, one line each) appended
/// outside the database after each audit commit, owner-only, fsynced. A hash chain shows changed,
/// removed or reordered records, but not that its newest records were cut off; this file does,
/// because a head once noted here must still be in the database with the same MAC.
/// <para>
/// The rule (see <see cref="AuditVerifier"/>): the file is created with a genesis line
/// <c>0 000…</c> while the chain is still empty, so a missing file is tampering, not a fresh start.
/// The line is written after the commit, so a crash between the two leaves the database at most a
/// few records ahead of the file: those are verified by the chain and reported as not yet anchored
/// (exit 0), and start-up anchors them. The database behind the file, or a different MAC at a
/// noted seq, fails verification. Lines only ever grow in seq; a torn last line (a crash during the
/// append) has no line end and is ignored.
/// </para>
/// </summary>
public sealed partial class AuditHeadFile(GatewayOptions options, ILogger<AuditHeadFile> logger)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private ChainHead? _lastNoted;

    public string Path { get; } = System.IO.Path.Combine(options.FullDataDirectory, "audit", "head.log");

    /// <summary>
    /// Creates the file with the genesis line. Only call while the chain is empty (and, when a
    /// write transaction is open, before it commits): otherwise a deleted file would be recreated
    /// and hide the deletion.
    /// </summary>
    public void CreateIfMissing()
    {
        if (File.Exists(Path)) return;
        var directory = System.IO.Path.GetDirectoryName(Path)!;
        OwnerOnly.CreateDirectory(directory);
        try
        {
            using var file = OwnerOnly.CreateNew(Path, 1);
            file.Write(Line(ChainHead.Genesis));
            file.Flush(flushToDisk: true);
        }
        catch (IOException) when (File.Exists(Path))
        {
            return; // another writer created it first
        }
        DirectorySync.Flush(directory);
    }

    /// <summary>
    /// Notes <paramref name="head"/> (the committed head, read after the commit) unless a head at or
    /// beyond its seq is already noted. Never throws: the records are committed either way, and a
    /// head that could not be noted is anchored by the next write or the next start.
    /// </summary>
    public async Task NoteAsync(ChainHead head, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken);
        try
        {
            if (_lastNoted is null && File.Exists(Path))
            {
                var content = Read(Path);
                if (content.TornTail) DropTornTail(content.CompleteLength);
                _lastNoted = content.Entries.LastOrDefault();
            }
            if (_lastNoted is not null && head.Seq <= _lastNoted.Seq)
            {
                if (head.Seq < _lastNoted.Seq) LogDatabaseBehind(logger, head.Seq, _lastNoted.Seq);
                return;
            }
            if (!File.Exists(Path))
            {
                LogFileMissing(logger, head.Seq);
                return;
            }
            await using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1))
            {
                await file.WriteAsync(Line(head), cancellationToken);
                file.Flush(flushToDisk: true);
            }
            _lastNoted = head;
        }
        catch (IOException e)
        {
            LogWriteFailed(logger, head.Seq, e.GetType().Name);
        }
        catch (UnauthorizedAccessException e)
        {
            LogWriteFailed(logger, head.Seq, e.GetType().Name);
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>A crash during an append left part of a line: cut it, so the next line starts clean.</summary>
    private void DropTornTail(long completeLength)
    {
        using var file = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read, 1);
        file.SetLength(completeLength);
        file.Flush(flushToDisk: true);
    }

    private static byte[] Line(ChainHead head) => Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{head.Seq} {head.Mac}\n"));

    /// <summary>The noted heads in file order; <paramref name="path"/> must exist.</summary>
    public static HeadFileContent Read(string path)
    {
        var text = Encoding.ASCII.GetString(File.ReadAllBytes(path));
        var entries = new List<ChainHead>();
        var malformed = new List<int>();
        var lines = text.Split('\n');
        // The last element is what follows the last line end: empty, or a torn line.
        var torn = lines[^1].Length > 0;
        for (var i = 0; i < lines.Length - 1; i++)
        {
            var parts = lines[i].Split(' ');
            if (parts.Length == 2 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
                && parts[1].Length == 64 && parts[1].All(char.IsAsciiHexDigitLower))
                entries.Add(new ChainHead(seq, parts[1]));
            else
                malformed.Add(i + 1);
        }
        return new HeadFileContent(entries, malformed, torn, text.LastIndexOf('\n') + 1);
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Error, Message = "Audit head file is missing although the audit log has records; head {Seq} not noted. Run `audit verify`.")]
    private static partial void LogFileMissing(ILogger logger, long seq);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Audit head file notes seq {NotedSeq} but the audit log ends at {Seq}: records were removed. Run `audit verify`.")]
    private static partial void LogDatabaseBehind(ILogger logger, long seq, long notedSeq);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Audit head {Seq} could not be written to the head file ({ErrorType}); the next write or start-up notes it")]
    private static partial void LogWriteFailed(ILogger logger, long seq, string errorType);
}

/// <param name="Entries">Well-formed lines, in file order.</param>
/// <param name="MalformedLines">1-based numbers of complete lines that do not parse.</param>
/// <param name="TornTail">The file ends inside a line (a crash during an append): that line is ignored.</param>
/// <param name="CompleteLength">Bytes up to and including the last line end.</param>
public sealed record HeadFileContent(IReadOnlyList<ChainHead> Entries, IReadOnlyList<int> MalformedLines, bool TornTail, long CompleteLength);
