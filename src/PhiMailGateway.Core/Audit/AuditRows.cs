namespace PhiMailGateway.Audit;

/// <summary>
/// One link of the audit chain: a disclosure record or an event. Built without its chain fields;
/// the store seals it (<see cref="AuditChainSealer"/>) inside the transaction that appends it.
/// Times are unix milliseconds (UTC).
/// </summary>
public abstract class AuditRow
{
    public long Seq { get; set; }
    public string PrevMac { get; set; } = "";
    public string Mac { get; set; } = "";
    public long RecordedAt { get; set; }
}

/// <summary>A row of <c>disclosures</c>: one message to one recipient.</summary>
public sealed class DisclosureRow : AuditRow
{
    public string QueueId { get; set; } = "";
    public string? MessageId { get; set; }
    public string? DeliveryId { get; set; }
    public string? AuthenticatedUser { get; set; }
    public string Sender { get; set; } = "";
    public string Recipient { get; set; } = "";
    public string? RecipientName { get; set; }
    public string Action { get; set; } = "";
    public string? RuleName { get; set; }
    public string? Purpose { get; set; }
    public string? Reference { get; set; }
    public long PhiCount { get; set; }
    public string PhiKinds { get; set; } = "";
    public string PhiParts { get; set; } = "";
    public string? PatientsEnc { get; set; }
    public string KeyId { get; set; } = "";

    /// <summary>Rows of <c>disclosure_patients</c>, filled after reading; part of the MAC.</summary>
    public List<string> PatientLookups { get; set; } = [];
}

/// <summary>A row of <c>audit_events</c>.</summary>
public sealed class AuditEventRow : AuditRow
{
    public string Type { get; set; } = "";
    public string? QueueId { get; set; }
    public string? DeliveryId { get; set; }
    public string? Recipient { get; set; }
    public string? Detail { get; set; }
    public string? PackageId { get; set; }
    public string? ClientAddress { get; set; }
    public string? UserAgent { get; set; }
    public string? FileSha256 { get; set; }
}

/// <summary>One patient named in the DICOM headers of a message; stored only encrypted.</summary>
public sealed record AuditPatient(string? PatientId, string? PatientName, string? BirthDate);
