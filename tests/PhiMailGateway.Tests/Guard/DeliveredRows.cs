using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.Guard;

/// <summary>What the audit log holds for a delivered copy with images: its disclosure record and its Relayed event.</summary>
internal static class DeliveredRows
{
    public static IReadOnlyList<AuditRow> Of(string queueId, string recipient, string? name = null, string? patientLookup = null) =>
    [
        new DisclosureRow
        {
            RecordedAt = 1, QueueId = queueId, DeliveryId = queueId + "-1", Sender = "office@smiledental.example", Recipient = recipient,
            RecipientName = name, Action = "Pickup", PhiCount = 1, PhiKinds = "Dicom", PhiParts = "", KeyId = "test",
            PatientLookups = patientLookup is null ? [] : [patientLookup],
        },
        new AuditEventRow { RecordedAt = 2, Type = AuditEventTypes.Relayed, QueueId = queueId, DeliveryId = queueId + "-1", Recipient = recipient },
    ];
}
