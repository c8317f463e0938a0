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

    public IReadOnlyList<AuditRow> RecordsFor(ProcessedMessage message)
    {
        var now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var queueId = message.QueueId;
        var plan = message.Plan;
        var phi = PhiDescription.Of(message.Report);
        var patients = PatientsOf(message.Report);
        var patientsEnc = patients.Count == 0 ? null : keys.Encrypt(JsonSerializer.Serialize(patients), queueId);
        var lookups = patients.Where(p => !string.IsNullOrWhiteSpace(p.PatientId)).Select(p => keys.PatientLookup(p.PatientId!))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

        DisclosureRow Row(string recipient, string action, string? ruleName, string? deliveryId, string? reference) => new()
        {
            RecordedAt = now,
            QueueId = queueId,
            MessageId = message.Headers.MessageId,
            DeliveryId = deliveryId,
            AuthenticatedUser = message.Envelope.AuthenticatedUser,
            Sender = message.Envelope.Sender,
            Recipient = recipient,
            RecipientName = message.Headers.RecipientNames.GetValueOrDefault(recipient),
            Action = action,
            RuleName = ruleName,
            Purpose = plan.Decisions.TryGetValue(recipient, out var d) && d.Rule is { } rule ? rule.Purpose : null,
            Reference = reference,
            PhiCount = phi.Count,
            PhiKinds = phi.Kinds,
            PhiParts = phi.Parts,
            PatientsEnc = patientsEnc,
            KeyId = keys.KeyId,
            PatientLookups = lookups,
        };

        var rows = new List<AuditRow>();
        // Each copy names its delivery, so its records carry the id the queue row has. Without
        // copies (the message was rejected), nothing was disclosed except the Reject records below.
        var deliveryOf = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var records = 0;
        foreach (var copy in message.Copies)
        {
            foreach (var recipient in copy.Recipients.Distinct(StringComparer.OrdinalIgnoreCase))
            {
                rows.Add(Row(recipient, copy.Action, copy.RuleName, copy.DeliveryId, copy.Reference));
                deliveryOf[recipient] = copy.DeliveryId;
                records++;
            }
        }
        foreach (var rejection in plan.Rejections)
        {
            rows.Add(Row(rejection.Recipient, "Reject", rejection.RuleName, null, null));
            rows.Add(Event(now, AuditEventTypes.Rejected, queueId, null, rejection.Recipient, $"rule {rejection.RuleName}"));
            records++;
        }

        // The recipient's certificate could not be used, so a rule after the S/MIME one decided.
        foreach (var decision in plan.Decisions.Values)
        {
            if (decision.Certificate is not { Usable: false, Reason: { } reason } || decision.Rule is null) continue;
            rows.Add(Event(now, AuditEventTypes.CertificateFallback, queueId, deliveryOf.GetValueOrDefault(decision.Recipient),
                decision.Recipient, $"no usable certificate ({reason}); rule {decision.Rule.Name} -> {decision.Rule.Action}"));
        }
        // What the guard found: a held copy has no disclosure yet (it gets one if it is released),
        // a flagged one went as its rule says.
        foreach (var verdict in message.Guard.Verdicts.Where(v => v.Outcome != Guard.GuardOutcome.Pass))
        {
            var held = verdict.Outcome == Guard.GuardOutcome.Hold;
            rows.Add(Event(now, held ? AuditEventTypes.GuardHeld : AuditEventTypes.GuardFlagged, queueId,
                deliveryOf.GetValueOrDefault(verdict.Recipient), verdict.Recipient, Guard.GuardAuditText.Of(verdict)));
        }
        LogRecorded(logger, queueId, records);
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

    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "{QueueId}: {RecordCount} disclosure records built, to commit with the outbound copies")]
    private static partial void LogRecorded(ILogger logger, string queueId, int recordCount);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "Audit event {Type} appended at seq {Seq}")]
    private static partial void LogEventAppended(ILogger logger, string type, long seq);
}
