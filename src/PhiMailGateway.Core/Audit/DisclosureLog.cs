using System.Text.Json;
using Microsoft.Extensions.Logging;
using MimeKit;
using PhiMailGateway.Inspection;
using PhiMailGateway.Pipeline;
using PhiMailGateway.Queue;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit;

/// <summary>
/// The audit log's writer: builds the disclosure records that the queue commits with the copies
/// (invariant 2), and the events that follow them, all in one MAC chain (<see cref="AuditChain"/>)
/// kept by <see cref="IAuditStore"/>.
/// After each commit the new head goes to <see cref="AuditHeadFile"/> (commits ending together share one note),
/// and <see cref="HeadNotes.AuditHeadSignal"/> tells the head-note publisher that the chain advanced.
/// Patient identifiers from the DICOM headers are stored only encrypted, plus a keyed hash of each
/// PatientID for lookups; nothing here is logged except ids and counts.
/// </summary>
public sealed partial class DisclosureLog(
    AuditKeys keys,
    AuditHeadFile headFile,
    IAuditStore store,
    TimeProvider time,
    ILogger<DisclosureLog> logger,
    HeadNotes.AuditHeadSignal? headSignal = null) : IDisclosureRecorder, IAuditTrail
{
    public const string DefaultPurpose = "Treatment";

    public IReadOnlyList<AuditRow> RecordsFor(MessageContext context, IReadOnlyList<NewDelivery> deliveries)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var headers = ReadHeaders(context);
        var phi = PhiDescription.Of(context.Inspection);
        var patients = PatientsOf(context.Inspection);
        var patientsEnc = patients.Count == 0 ? null : keys.Encrypt(JsonSerializer.Serialize(patients), context.QueueId);
        var lookups = patients.Where(p => !string.IsNullOrWhiteSpace(p.PatientId)).Select(p => keys.PatientLookup(p.PatientId!))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        DisclosureRow Row(string recipient, string action, string? ruleName, string? deliveryId, string? reference) => new()
        {
            RecordedAt = now,
            QueueId = context.QueueId,
            MessageId = headers.MessageId,
            DeliveryId = deliveryId,
            AuthenticatedUser = context.Envelope.AuthenticatedUser,
            Sender = context.Envelope.Sender,
            Recipient = recipient,
            RecipientName = headers.Names.GetValueOrDefault(recipient),
            Action = action,
            RuleName = ruleName,
            Purpose = context.Decisions.TryGetValue(recipient, out var d) && d.Rule is { } rule ? rule.Purpose : null,
            Reference = reference,
            PhiCount = phi.Count,
            PhiKinds = phi.Kinds,
            PhiParts = phi.Parts,
            PatientsEnc = patientsEnc,
            KeyId = keys.KeyId,
            PatientLookups = lookups,
        };

        var rows = new List<AuditRow>();
        // The queued copies are the non-DSN deliveries, in the order of context.Outbound. With none
        // (the message was rejected), nothing was disclosed except the Reject records below.
        var copies = deliveries.Where(x => !x.IsDsn).ToList();
        var deliveryOf = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var records = 0;
        if (copies.Count > 0)
        {
            if (copies.Count != context.Outbound.Count)
                throw new InvalidOperationException($"{context.QueueId}: {copies.Count} deliveries for {context.Outbound.Count} outbound copies; refusing to guess the audit record.");
            for (var i = 0; i < copies.Count; i++)
            {
                var copy = context.Outbound[i];
                foreach (var recipient in copy.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
                {
                    rows.Add(Row(recipient, copy.Action, copy.RuleName, copies[i].DeliveryId, copy.Reference));
                    deliveryOf[recipient] = copies[i].DeliveryId;
                    records++;
                }
            }
        }
        foreach (var (recipient, _) in context.Rejections.DistinctBy(r => r.Recipient, StringComparer.OrdinalIgnoreCase))
        {
            var ruleName = context.Decisions.TryGetValue(recipient, out var decision) ? decision.Rule?.Name : null;
            rows.Add(Row(recipient, "Reject", ruleName, null, null));
            rows.Add(Event(now, AuditEventTypes.Rejected, context.QueueId, null, recipient,
                ruleName is null ? "rejected by the pipeline" : $"rule {ruleName}"));
            records++;
        }

        // The recipient's certificate could not be used, so a rule after the S/MIME one decided.
        foreach (var decision in context.Decisions.Values)
        {
            if (decision.Certificate is not { Usable: false, Reason: { } reason } || decision.Rule is null) continue;
            rows.Add(Event(now, AuditEventTypes.CertificateFallback, context.QueueId, deliveryOf.GetValueOrDefault(decision.Recipient),
                decision.Recipient, $"no usable certificate ({reason}); rule {decision.Rule.Name} -> {decision.Rule.Action}"));
        }
        LogRecorded(logger, context.QueueId, records);
        return rows;
    }

    /// <summary>
    /// After the transaction that committed records or events ended: notes the committed head.
    /// Commits that end together share one note (one read of the head, one fsync of the head file).
    /// </summary>
    public Task CommittedAsync(CancellationToken cancellationToken) => _headNote.FlushAsync();

    private readonly CoalescingFlush _headNote = new(async () =>
    {
        var head = await store.ReadHeadAsync(CancellationToken.None);
        if (head.Seq > 0)
        {
            await headFile.NoteAsync(head, CancellationToken.None);
            headSignal?.Raise();
        }
    });

    public async Task AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken)
    {
        var head = await store.AppendAsync(Rows([auditEvent]), cancellationToken);
        LogEventAppended(logger, auditEvent.Type, head.Seq);
        await _headNote.FlushAsync();
    }

    /// <summary>Events that commit with a relay attempt's outcome; <see cref="CommittedAsync"/> notes the head after the commit.</summary>
    public Task<IReadOnlyList<AuditRow>> RowsForAsync(IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) =>
        Task.FromResult(Rows(events));

    private IReadOnlyList<AuditRow> Rows(IReadOnlyList<AuditEvent> events)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var rows = new List<AuditRow>(events.Count);
        foreach (var auditEvent in events)
        {
            rows.Add(new AuditEventRow
            {
                RecordedAt = now,
                Type = auditEvent.Type,
                QueueId = auditEvent.QueueId,
                DeliveryId = auditEvent.DeliveryId,
                Recipient = auditEvent.Recipient,
                Detail = auditEvent.Detail,
                PackageId = auditEvent.PackageId,
                ClientAddress = auditEvent.ClientAddress,
                UserAgent = auditEvent.UserAgent,
                FileSha256 = auditEvent.FileSha256,
            });
        }
        return rows;
    }

    private static AuditEventRow Event(long now, string type, string queueId, string? deliveryId, string recipient, string detail) => new()
    {
        RecordedAt = now,
        Type = type,
        QueueId = queueId,
        DeliveryId = deliveryId,
        Recipient = recipient,
        Detail = detail,
    };

    /// <summary>The patients named in the message's DICOM headers, each once.</summary>
    internal static IReadOnlyList<AuditPatient> PatientsOf(InspectionReport? report) =>
        report is null
            ? []
            : report.Findings
                .Select(f => f.Dicom?.Tags)
                .OfType<DicomTags>()
                .Select(t => new AuditPatient(Clean(t.PatientId), Clean(t.PatientName), Clean(t.PatientBirthDate)))
                .Where(p => p.PatientId is not null || p.PatientName is not null || p.BirthDate is not null)
                .Distinct()
                .ToList();

    private static string? Clean(string? value) => value?.Trim(' ', '\0') is { Length: > 0 } v ? v : null;

    private sealed record MessageHeaders(string? MessageId, Dictionary<string, string> Names);

    /// <summary>Message-ID and the display names of To and Cc addresses (164.528 asks for the recipient's name).</summary>
    private static MessageHeaders ReadHeaders(MessageContext context)
    {
        try
        {
            // Inspection kept what is needed; only a message it could not parse is read again here.
            if (context.Inspection is { AddressHeaders: { } addressHeaders } report)
                return HeadersFrom(report.MessageIdHeader, addressHeaders);
            using var stream = context.OpenMessage();
            var headers = HeaderList.Load(stream);
            return HeadersFrom(headers[HeaderId.MessageId], headers.Where(h => h.Id is HeaderId.To or HeaderId.Cc).Select(h => h.RawValue));
        }
        catch (FormatException)
        {
            // MimeKit's ParseException is a FormatException: headers we cannot read leave the fields empty.
            return new MessageHeaders(null, new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));
        }
    }

    private static MessageHeaders HeadersFrom(string? messageIdValue, IEnumerable<byte[]> addressHeaders)
    {
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        string? messageId = null;
        if (messageIdValue is { } raw)
            messageId = MimeKit.Utils.MimeUtils.EnumerateReferences(raw).FirstOrDefault() ?? raw.Trim();
        foreach (var header in addressHeaders)
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, header, out var list)) continue;
            foreach (var mailbox in list.Mailboxes)
            {
                if (!string.IsNullOrWhiteSpace(mailbox.Name)) names.TryAdd(mailbox.Address, mailbox.Name.Trim());
            }
        }
        return new MessageHeaders(messageId, names);
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "{QueueId}: {RecordCount} disclosure records built, to commit with the outbound copies")]
    private static partial void LogRecorded(ILogger logger, string queueId, int recordCount);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Audit event {Type} appended at seq {Seq}")]
    private static partial void LogEventAppended(ILogger logger, string type, long seq);
}
