using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using PhiMailGateway.Configuration;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Relay;

/// <summary>
/// Relay mode <c>Directory</c>: each delivery becomes <c>&lt;outbox&gt;/&lt;DeliveryId&gt;.eml</c>, exactly
/// the content bytes (no envelope header is added), with its envelope beside it in
/// <c>&lt;DeliveryId&gt;.envelope.json</c> (<see cref="OutboxEnvelope"/>).
/// <para>
/// Contract for readers of the outbox: only <c>*.eml</c> files are complete; pick those up and read the
/// sidecar of the same name. The sidecar is renamed into place (and the folder synced) before the
/// <c>.eml</c>, so an <c>.eml</c> never exists without its envelope. <c>tmp/</c> holds files being
/// written and is not for readers. A sidecar without its <c>.eml</c> is a write that did not finish:
/// the retry rewrites both.
/// </para>
/// </summary>
public sealed class DirectoryRelay : IRelayTransport
{
    public const string MessageExtension = ".eml";
    public const string EnvelopeExtension = ".envelope.json";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly ILogger _logger;

    public DirectoryRelay(RelayOptions options, GatewayOptions gateway, ILogger<DirectoryRelay>? logger = null)
    {
        OutboxDirectory = Path.GetFullPath(options.OutboxDirectory is { Length: > 0 } dir
            ? dir
            : Path.Combine(gateway.FullDataDirectory, "outbox"));
        TempDirectory = Path.Combine(OutboxDirectory, "tmp");
        _logger = logger ?? NullLogger<DirectoryRelay>.Instance;
    }

    public string OutboxDirectory { get; }
    public string TempDirectory { get; }

    public string MessagePath(string deliveryId) => Path.Combine(OutboxDirectory, deliveryId + MessageExtension);
    public string EnvelopePath(string deliveryId) => Path.Combine(OutboxDirectory, deliveryId + EnvelopeExtension);

    public async Task<IReadOnlyList<RecipientOutcome>> SendAsync(RelayRequest request, CancellationToken cancellationToken)
    {
        if (!IsSafeFileName(request.DeliveryId))
            throw new ArgumentException("Delivery id is not usable as a file name.", nameof(request));
        if (request.Recipients.Count == 0) return [];

        long bytes;
        try
        {
            OwnerOnly.CreateDirectory(OutboxDirectory);
            OwnerOnly.CreateDirectory(TempDirectory);

            var envelope = new OutboxEnvelope(request.DeliveryId, request.Sender, request.Recipients, request.RequireTls);
            await CommitAsync(request.DeliveryId + EnvelopeExtension, async stream =>
            {
                await JsonSerializer.SerializeAsync(stream, envelope, Json, cancellationToken);
                return stream.Length;
            }, cancellationToken);

            // The .eml rename is the commit point of the delivery.
            bytes = await CommitAsync(request.DeliveryId + MessageExtension, async stream =>
            {
                await using var content = request.OpenContent();
                await content.CopyToAsync(stream, cancellationToken);
                return stream.Length;
            }, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            // Fail closed: whatever went wrong, nothing was committed, so the delivery is retried.
            RelayLog.OutboxWriteFailed(_logger, request.DeliveryId, e.GetType().Name, request.Recipients.Count);
            var reason = $"Outbox write failed: {e.GetType().Name}: {e.Message}";
            return request.Recipients.Select(r => new RecipientOutcome(r, RecipientStatus.Deferred, 0, reason)).ToArray();
        }

        RelayLog.OutboxWritten(_logger, request.DeliveryId, request.Recipients.Count, bytes);
        return request.Recipients.Select(r => new RecipientOutcome(r, RecipientStatus.Delivered, 250, "250 written to outbox")).ToArray();
    }

    /// <summary>Temp file (owner-only) in <c>tmp/</c>, flushed to disk, renamed into the outbox, folder synced.</summary>
    private async Task<long> CommitAsync(string fileName, Func<FileStream, Task<long>> write, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(TempDirectory, fileName);
        var final = Path.Combine(OutboxDirectory, fileName);
        // A temp file left by a crash mid-write is garbage: the delivery was never committed.
        File.Delete(temp);
        long length;
        try
        {
            await using (var stream = OwnerOnly.CreateNew(temp))
            {
                length = await write(stream);
                await stream.FlushAsync(cancellationToken);
                stream.Flush(flushToDisk: true);
            }
            // Overwrite: a retry after a crash between rename and bookkeeping rewrites the same bytes.
            File.Move(temp, final, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
        DirectorySync.Flush(OutboxDirectory);
        return length;
    }

    private static void TryDelete(string path)
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

    /// <summary>Delivery ids become file names: letters, digits, '-', '_' and '.', not leading '.', at most 128.</summary>
    internal static bool IsSafeFileName(string? id) =>
        id is { Length: > 0 and <= 128 } && id[0] != '.' &&
        id.All(c => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '-' or '_' or '.');
}

/// <summary>The sidecar <c>&lt;DeliveryId&gt;.envelope.json</c>: the SMTP envelope for the <c>.eml</c> beside it.</summary>
/// <param name="Sender">Reverse-path; empty for a DSN.</param>
public sealed record OutboxEnvelope(string DeliveryId, string Sender, IReadOnlyList<string> Recipients, bool RequireTls);
