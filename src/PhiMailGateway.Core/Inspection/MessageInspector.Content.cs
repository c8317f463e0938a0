using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using MimeKit;
using MimeKit.Tnef;
using PhiMailGateway.Inspection.Containers;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Inspection;

// The content half of the walk: one pass over each part's bytes (prefix, hash, size), then zip and TNEF containers.
public sealed partial class MessageInspector
{
    private const int CopyBufferBytes = 81920;
    private const int RatioCheckMinBytes = 4096;
    private const int MaxTnefAttributes = 100_000;

    private static InspectionFinding FailClosed(Anchor anchor, IReadOnlyList<string> path, string? declaredType, string reason, long size = 0, string format = "Unknown", string? sha256 = null) => new()
    {
        Kind = ImageKind.Unknown, Format = format, Size = size, Path = JoinPath(path),
        TopLevelPartIndex = anchor.TopLevelPartIndex, PartSpecifier = anchor.PartSpecifier,
        DeclaredContentType = declaredType, Sha256 = sha256, FailClosedReason = reason, IsProtected = true,
    };

    /// <summary>
    /// Streams one part once: keeps a bounded prefix, hashes everything, counts bytes; containers
    /// (zip, TNEF) are copied to a scratch file on the way because both formats need to seek.
    /// </summary>
    private async Task InspectItemAsync(Walk walk, Item item, ArchiveBudget? budget, int archiveDepth, int mimeDepth, CancellationToken ct)
    {
        var prefix = ArrayPool<byte>.Shared.Rent(ContentSniffer.PrefixBytes);
        FileStream? spill = null;
        EmbeddedBlockScanner? embedded = null;
        try
        {
            long total;
            int prefixLength;
            string sha256;
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            {
                try
                {
                    await using var stream = item.Open();
                    prefixLength = await stream.ReadAtLeastAsync(prefix.AsMemory(0, ContentSniffer.PrefixBytes), ContentSniffer.PrefixBytes, throwOnEndOfStream: false, ct);
                    hash.AppendData(prefix, 0, prefixLength);
                    total = prefixLength;
                    var head = prefix.AsSpan(0, prefixLength);
                    if (NeedsSpill(head) || Containers.ContainerSignatures.IsWalkable(head))
                    {
                        spill = CreateScratchFile();
                        await spill.WriteAsync(prefix.AsMemory(0, prefixLength), ct);
                    }
                    embedded = StartEmbeddedScan(walk, item, prefix.AsSpan(0, prefixLength));
                    embedded?.Feed(prefix.AsSpan(0, prefixLength));
                    var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
                    try
                    {
                        int read;
                        while ((read = await stream.ReadAsync(buffer.AsMemory(0, CopyBufferBytes), ct)) > 0)
                        {
                            hash.AppendData(buffer, 0, read);
                            total += read;
                            if (spill is not null) await spill.WriteAsync(buffer.AsMemory(0, read), ct);
                            embedded?.Feed(buffer.AsSpan(0, read));
                        }
                        embedded?.Complete();
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                    }
                }
                catch (UndecodableContentException e)
                {
                    walk.Findings.Add(FailClosed(item.Anchor, item.Path, item.DeclaredType, e.Message));
                    return;
                }
                catch (ArchiveLimitException e)
                {
                    walk.Findings.Add(FailClosed(item.Anchor, item.Path, item.DeclaredType, e.Message));
                    return;
                }
                catch (Exception e) when (e is InvalidDataException or IOException or FormatException or NotSupportedException)
                {
                    walk.Findings.Add(FailClosed(item.Anchor, item.Path, item.DeclaredType, $"content could not be read ({e.GetType().Name})"));
                    return;
                }
                sha256 = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            var sniff = ContentSniffer.Sniff(prefix.AsSpan(0, prefixLength), total);
            var (kind, reason) = _classifier.Classify(sniff, total, item.FileName, item.DeclaredType, item.ReferencedByCid);
            walk.Findings.Add(new InspectionFinding
            {
                Kind = kind, Format = sniff.Format, Size = total,
                Width = sniff.Width, Height = sniff.Height, Components = sniff.Components, BitDepth = sniff.BitDepth,
                Path = JoinPath(item.Path), TopLevelPartIndex = item.Anchor.TopLevelPartIndex, PartSpecifier = item.Anchor.PartSpecifier,
                DeclaredContentType = item.DeclaredType, Sha256 = sha256, Dicom = sniff.Dicom, FailClosedReason = reason,
                IsProtected = reason is not null || _classifier.IsProtectedKind(kind),
            });

            if (spill is not null && sniff.Family == ContentFamily.Archive)
                await WalkZipAsync(walk, item, spill, budget ?? new ArchiveBudget(_options), archiveDepth + 1, mimeDepth, ct);
            else if (spill is not null && sniff.Family == ContentFamily.Tnef)
                await WalkTnefAsync(walk, item, spill, budget, archiveDepth, mimeDepth, ct);
            else if (spill is not null && sniff.Family == ContentFamily.Message)
                await WalkEmbeddedMessageAsync(walk, item, spill, mimeDepth, ct);
            else if (spill is not null)
                await WalkFileContainerAsync(walk, item, spill, sniff, budget, archiveDepth, mimeDepth, ct);
            if (embedded is not null) await InspectEmbeddedAsync(walk, item, embedded, mimeDepth, ct);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(prefix);
            if (spill is not null) await spill.DisposeAsync();
        }
    }

    /// <summary>Containers that need to seek (zip, TNEF) or to be parsed again (a message under any declared type).</summary>
    private static bool NeedsSpill(ReadOnlySpan<byte> head) =>
        ContentSniffer.IsZip(head) || ContentSniffer.IsTnef(head) || MessageHeaderSniffer.LooksLikeMessage(head);

    private FileStream CreateScratchFile()
    {
        OwnerOnly.CreateDirectory(_scratchDirectory);
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None,
            Options = FileOptions.DeleteOnClose | FileOptions.Asynchronous, BufferSize = CopyBufferBytes,
        };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly.FileMode;
        return new FileStream(Path.Combine(_scratchDirectory, $"inspect-{Guid.NewGuid():N}.tmp"), options);
    }

    /// <summary>
    /// A zip, bounded before anything is read: nesting depth, entry count (from the end-of-central-
    /// directory record, so a million-entry directory is never loaded), then per entry the declared
    /// size against the remaining budget and the compression ratio; while reading, actual bytes are
    /// counted against the declared size and the budget, because headers can lie.
    /// </summary>
    private async Task WalkZipAsync(Walk walk, Item container, FileStream file, ArchiveBudget budget, int depth, int mimeDepth, CancellationToken ct)
    {
        if (depth > _options.MaxArchiveDepth)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive nesting deeper than {_options.MaxArchiveDepth} (Inspection:MaxArchiveDepth)", file.Length, "ZIP"));
            return;
        }
        var declaredEntries = ReadZipEntryCount(file);
        if (declaredEntries is null)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, "archive could not be opened (no central directory)", file.Length, "ZIP"));
            return;
        }
        if (budget.Entries + declaredEntries > _options.MaxArchiveEntries)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive has more than {_options.MaxArchiveEntries} entries (Inspection:MaxArchiveEntries)", file.Length, "ZIP"));
            return;
        }

        if (ZipLayout.FindAmbiguity(file, _options.MaxArchiveEntries) is { } ambiguity)
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, ambiguity, file.Length, "ZIP"));

        file.Position = 0;
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            _ = zip.Entries.Count;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive could not be opened ({e.GetType().Name})", file.Length, "ZIP"));
            return;
        }
        using (zip)
        {
            foreach (var entry in zip.Entries)
            {
                ct.ThrowIfCancellationRequested();
                var path = Append(container.Path, entry.FullName);
                if (++budget.Entries > _options.MaxArchiveEntries)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"archive has more than {_options.MaxArchiveEntries} entries (Inspection:MaxArchiveEntries)", file.Length, "ZIP"));
                    return;
                }
                if (entry.FullName.EndsWith('/') && entry.Length == 0) continue;
                if (entry.IsEncrypted)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, "encrypted archive entry", entry.Length));
                    continue;
                }
                if (entry.Length > budget.RemainingBytes)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, $"archive expands past {_options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)", entry.Length));
                    return;
                }
                if (entry.Length >= RatioCheckMinBytes && entry.Length > (long)_options.MaxCompressionRatio * Math.Max(1, entry.CompressedLength))
                {
                    walk.Findings.Add(FailClosed(container.Anchor, path, container.DeclaredType, $"compression ratio above {_options.MaxCompressionRatio} (Inspection:MaxCompressionRatio): a zip bomb", entry.Length));
                    continue;
                }
                var current = entry;
                var item = new Item(() => new BoundedReadStream(current.Open(), current.Length, budget, _options), entry.Name, null, false, container.Anchor, path);
                await InspectItemAsync(walk, item, budget, depth, mimeDepth, ct);
            }
        }
    }

    /// <summary>Entry count from the end-of-central-directory record (zip64 aware), or null when there is none.</summary>
    private static long? ReadZipEntryCount(FileStream file)
    {
        const int eocdSize = 22;
        if (file.Length < eocdSize) return null;
        var tailLength = (int)Math.Min(file.Length, eocdSize + ushort.MaxValue + 20);
        var tail = new byte[tailLength];
        file.Position = file.Length - tailLength;
        file.ReadExactly(tail);
        for (var i = tailLength - eocdSize; i >= 0; i--)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i)) != 0x06054B50) continue;
            long count = BinaryPrimitives.ReadUInt16LittleEndian(tail.AsSpan(i + 10));
            if (count != 0xFFFF) return count;
            // Zip64: the locator sits just before the end record and points at the zip64 end record.
            if (i < 20 || BinaryPrimitives.ReadUInt32LittleEndian(tail.AsSpan(i - 20)) != 0x07064B50) return null;
            var recordOffset = BinaryPrimitives.ReadUInt64LittleEndian(tail.AsSpan(i - 12));
            if (recordOffset > (ulong)(file.Length - 56)) return null;
            var record = new byte[56];
            file.Position = (long)recordOffset;
            file.ReadExactly(record);
            if (BinaryPrimitives.ReadUInt32LittleEndian(record) != 0x06064B50) return null;
            var count64 = BinaryPrimitives.ReadUInt64LittleEndian(record.AsSpan(32));
            return count64 > int.MaxValue ? int.MaxValue : (long)count64;
        }
        return null;
    }

    /// <summary>
    /// Outlook's winmail.dat. MimeKit's reader is lenient, so a separate strict pass first checks
    /// that the stream is well-formed: damaged TNEF fails closed even when some attachments came out.
    /// </summary>
    private async Task WalkTnefAsync(Walk walk, Item container, FileStream file, ArchiveBudget? budget, int archiveDepth, int mimeDepth, CancellationToken ct)
    {
        List<MimeEntity> attachments;
        try
        {
            file.Position = 0;
            using (var reader = new TnefReader(new NonClosingStream(file), 0, TnefComplianceMode.Loose))
            {
                var attributes = 0;
                var tooMany = false;
                while (reader.ReadNextAttribute())
                {
                    if (++attributes <= MaxTnefAttributes) continue;
                    // Damage past the attributes the strict pass read would go unseen: the rest is not certain.
                    tooMany = true;
                    break;
                }
                if (tooMany)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"TNEF has more than {MaxTnefAttributes} attributes", file.Length, "TNEF"));
                }
                else if (reader.ComplianceStatus != TnefComplianceStatus.Compliant)
                {
                    walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"TNEF is damaged ({reader.ComplianceStatus})", file.Length, "TNEF"));
                }
            }
            file.Position = 0;
            var tnef = new TnefPart { Content = new MimeContent(new NonClosingStream(file)) };
            attachments = tnef.ExtractAttachments().ToList();
        }
        catch (Exception e) when (e is TnefException or InvalidDataException or IOException or FormatException or ArgumentException or InvalidOperationException or NotSupportedException or OverflowException)
        {
            walk.Findings.Add(FailClosed(container.Anchor, container.Path, container.DeclaredType, $"TNEF could not be read ({e.GetType().Name})", file.Length, "TNEF"));
            return;
        }

        var n = 0;
        foreach (var attachment in attachments)
        {
            n++;
            switch (attachment)
            {
                case MessagePart { Message: { } message }:
                    await WalkEntityAsync(walk, message.Body, "", container.Anchor, Append(container.Path, $"attached message {n}"), mimeDepth + 1, inner: true, ct);
                    break;
                case MimePart { Content: { } content } part:
                    var name = part.FileName is { Length: > 0 } f ? f : $"attachment {n}";
                    var item = new Item(() => MimePartDecoder.Open(part, content), part.FileName, null, false, container.Anchor, Append(container.Path, name));
                    await InspectItemAsync(walk, item, budget, archiveDepth, mimeDepth, ct);
                    break;
            }
        }
    }

    /// <summary>Reads an archive entry while counting: past its declared size or past the budget, reading stops with <see cref="ArchiveLimitException"/>.</summary>
    private sealed class BoundedReadStream(Stream inner, long declaredLength, ArchiveBudget budget, InspectionOptions options) : ReadOnlyForwardStream
    {
        private long _read;

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        private int Count(int read)
        {
            _read += read;
            budget.RemainingBytes -= read;
            if (_read > declaredLength) throw new ArchiveLimitException("archive entry is larger than its header says");
            if (budget.RemainingBytes < 0)
                throw new ArchiveLimitException($"archive expands past {options.MaxTotalUncompressedBytes} bytes (Inspection:MaxTotalUncompressedBytes)");
            return read;
        }

        public override long Position { get => _read; }

        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Lets MimeKit dispose its view of the scratch file without deleting it under us.</summary>
    private sealed class NonClosingStream(Stream inner) : Stream
    {
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override bool CanRead => inner.CanRead;
        public override bool CanSeek => inner.CanSeek;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => inner.Position = value; }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
