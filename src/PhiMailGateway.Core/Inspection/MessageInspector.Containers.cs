using System.Buffers.Binary;
using System.Formats.Tar;
using System.IO.Compression;
using PhiMailGateway.Inspection.Containers;
using SharpCompress.Compressors.BZip2;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;
using SharpCompress.Compressors.ZStandard;

namespace PhiMailGateway.Inspection;

// Shapes inside files: compressed streams, tar, PDF and RTF. Each is opened from its scratch file
// under the attachment's archive budget; what cannot be opened with certainty fails closed.
public sealed partial class MessageInspector
{
    private async Task WalkFileContainerAsync(Walk walk, Item container, FileStream file, SniffResult sniff, ArchiveBudget? budget, int archiveDepth, int mimeDepth, CancellationToken ct)
    {
        if (sniff.Family is not (ContentFamily.Compressed or ContentFamily.Tar or ContentFamily.Pdf or ContentFamily.Rtf)) return;
        var depth = archiveDepth + 1;
        if (depth > _options.MaxArchiveDepth)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive nesting deeper than {_options.MaxArchiveDepth} (Inspection:MaxArchiveDepth)", file.Length, sniff.Format));
            return;
        }
        budget ??= new ArchiveBudget(_options);
        switch (sniff.Family)
        {
            case ContentFamily.Compressed:
                await WalkCompressedAsync(walk, container, file, sniff.Format, budget, depth, mimeDepth, ct);
                break;
            case ContentFamily.Tar:
                await WalkTarAsync(walk, container, file, budget, depth, mimeDepth, ct);
                break;
            case ContentFamily.Pdf:
                await WalkPdfAsync(walk, container, file, budget, depth, mimeDepth, ct);
                break;
            case ContentFamily.Rtf:
                await WalkRtfAsync(walk, container, file, budget, depth, mimeDepth, ct);
                break;
        }
    }

    /// <summary>Charges decoded bytes to the attachment's budget; returns the reason once it is spent.</summary>
    private Func<long, string?> Charge(ArchiveBudget budget) => read =>
    {
        budget.RemainingBytes -= read;
        return budget.RemainingBytes < 0 ? $"archive expands past {_options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)" : null;
    };

    /// <summary>One compressed stream: its content is one item, read through the ratio and budget checks.</summary>
    private async Task WalkCompressedAsync(Walk walk, Item container, FileStream file, string format, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        if (++budget.Entries > _options.MaxArchiveEntries)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive has more than {_options.MaxArchiveEntries} entries (Inspection:MaxArchiveEntries)", file.Length, format));
            return;
        }
        file.Position = 0;
        var compressedLength = file.Length;
        var input = new TailTrackingStream(file);
        var item = new Item(
            () => new DecompressingReadStream(() => OpenDecompressor(format, input), compressedLength, Charge(budget), _options.MaxCompressionRatio, crc => AfterCompressedEnd(format, input, crc), computeCrc: format == "GZIP"),
            DecompressedName(container.FileName), null, false, container.Anchor, Append(container.Path, $"({format.ToLowerInvariant()} content)"));
        await InspectItemAsync(walk, item, budget, depth, mimeDepth, ct);
    }

    /// <summary>
    /// Bytes after the end of a compressed stream are read by no decompressor but still travel:
    /// they fail closed. A gzip member must also end exactly at the end of the file with its
    /// trailer (CRC-32 and size of everything decoded), which also refuses concatenated members.
    /// </summary>
    private static string? AfterCompressedEnd(string format, TailTrackingStream input, uint crc)
    {
        var name = format.ToLowerInvariant();
        if (input.HasUnreadData()) return $"data after the end of the {name} stream";
        if (format != "GZIP") return null;
        var trailer = input.Tail(8);
        return trailer.Length == 8 && BinaryPrimitives.ReadUInt32LittleEndian(trailer) == crc ? null : $"data after the end of the {name} stream, or more than one member";
    }

    private static Stream OpenDecompressor(string format, Stream compressed) => format switch
    {
        // Concatenated members are read as one stream, as gunzip and bunzip2 do.
        "GZIP" => new GZipStream(compressed, CompressionMode.Decompress, leaveOpen: true),
        "BZIP2" => BZip2Stream.Create(compressed, SharpCompress.Compressors.CompressionMode.Decompress, decompressConcatenated: true, leaveOpen: true, tolerateTruncatedStream: false),
        "XZ" => new XZStream(compressed),
        "ZSTD" => new DecompressionStream(compressed, 81920, checkEndOfStream: true, leaveOpen: true),
        "LZIP" => LZipStream.Create(compressed, SharpCompress.Compressors.CompressionMode.Decompress, leaveOpen: true),
        _ => throw new InvalidDataException($"no decoder for {format}"),
    };

    /// <summary>"pano.dcm.gz" holds "pano.dcm", "case.tgz" a tar: the inner name keeps its extension for the classifier's checks.</summary>
    private static string? DecompressedName(string? name)
    {
        if (name is null) return null;
        var extension = System.IO.Path.GetExtension(name).ToLowerInvariant();
        var stem = name[..^extension.Length];
        return extension switch
        {
            ".gz" or ".bz2" or ".xz" or ".zst" or ".lz" or ".gzip" => stem,
            ".tgz" or ".tbz" or ".tbz2" or ".txz" => stem + ".tar",
            _ => null,
        };
    }

    /// <summary>
    /// A tar archive (ustar, GNU, pax). Entry types without content are skipped; anything else that
    /// is not a plain file (sparse, multi-volume) and data after the end-of-archive blocks fail
    /// closed, because another reader may still find content there.
    /// </summary>
    private async Task WalkTarAsync(Walk walk, Item container, FileStream file, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        file.Position = 0;
        var reader = new TarReader(new NonClosingStream(file), leaveOpen: true);
        try
        {
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                TarEntry? entry;
                try
                {
                    entry = await reader.GetNextEntryAsync(copyData: false, ct);
                }
                catch (Exception e) when (e is InvalidDataException or IOException or FormatException or ArgumentException or NotSupportedException or OverflowException or InvalidOperationException)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"tar archive could not be read ({e.GetType().Name})", file.Length, "TAR"));
                    return;
                }
                if (entry is null) break;
                var path = Append(container.Path, entry.Name);
                if (++budget.Entries > _options.MaxArchiveEntries)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive has more than {_options.MaxArchiveEntries} entries (Inspection:MaxArchiveEntries)", file.Length, "TAR"));
                    return;
                }
                switch (entry.EntryType)
                {
                    case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                        if (entry.Length > budget.RemainingBytes)
                        {
                            walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, $"archive expands past {_options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)", entry.Length));
                            return;
                        }
                        if (entry.DataStream is not { } data || entry.Length == 0) continue;
                        var length = entry.Length;
                        var item = new Item(() => new BoundedReadStream(new NonClosingStream(data), length, budget, _options), System.IO.Path.GetFileName(entry.Name), null, false, container.Anchor, path);
                        await InspectItemAsync(walk, item, budget, depth, mimeDepth, ct);
                        break;
                    case TarEntryType.Directory or TarEntryType.SymbolicLink or TarEntryType.HardLink or TarEntryType.CharacterDevice
                        or TarEntryType.BlockDevice or TarEntryType.Fifo or TarEntryType.GlobalExtendedAttributes when entry.Length == 0 || entry.EntryType == TarEntryType.GlobalExtendedAttributes:
                        break;
                    default:
                        walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, $"tar entry of type {entry.EntryType} is not read", entry.Length));
                        break;
                }
            }
            if (HasNonZeroBytesFrom(file, file.Position))
                walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, "data after the end of the tar archive", file.Length, "TAR"));
        }
        finally
        {
            await reader.DisposeAsync();
        }
    }

    private static bool HasNonZeroBytesFrom(FileStream file, long offset)
    {
        file.Position = offset;
        var buffer = new byte[CopyBufferBytes];
        int read;
        while ((read = file.Read(buffer)) > 0)
        {
            if (buffer.AsSpan(0, read).IndexOfAnyExcept((byte)0) >= 0) return true;
        }
        return false;
    }
}
