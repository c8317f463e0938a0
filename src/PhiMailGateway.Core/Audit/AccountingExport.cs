using System.Security.Cryptography;
using System.Text.Json;
using PhiMailGateway.Storage;

namespace PhiMailGateway.Audit;

/// <summary>Filters of `audit export`; every one is optional. Times are UTC, <see cref="Until"/> exclusive.</summary>
/// <param name="GatewaySenders">Envelope senders of the gateway's own mail (code mails, bounces): their rows are left out unless <paramref name="IncludeGatewayMail"/>.</param>
/// <param name="GuardDecisions">`audit export --guard`: the misdirection guard's decisions instead of the disclosures.</param>
public sealed record AccountingQuery(DateTimeOffset? Since = null, DateTimeOffset? Until = null, string? PatientId = null, string? Recipient = null,
    bool IncludeGatewayMail = false, IReadOnlyCollection<string>? GatewaySenders = null, bool GuardDecisions = false);

/// <summary>One decision of the misdirection guard: held, flagged, confirmed, cancelled, expired, recalled (copies that never left are no disclosures).</summary>
public sealed record GuardDecisionEntry(DateTimeOffset Date, string Decision, string QueueId, string Recipient, string Detail, long Seq);

/// <summary>
/// One line of the accounting of disclosures: the fields 45 CFR 164.528(b)(2) names (date,
/// recipient name and address, brief description of the PHI, purpose), plus how it was sent, what
/// became of it, and the patients, decrypted.
/// </summary>
public sealed record AccountingEntry(
    DateTimeOffset Date,
    string RecipientName,
    string RecipientAddress,
    string Description,
    string Purpose,
    string Method,
    string Outcome,
    DateTimeOffset? OutcomeAt,
    DateTimeOffset? FirstDeliveredAt,
    DateTimeOffset? FirstOpenedAt,
    int Downloads,
    IReadOnlyList<AuditPatient> Patients,
    string? Rule,
    string Sender,
    string? AuthenticatedUser,
    string? MessageId,
    string QueueId,
    string? DeliveryId,
    long Seq,
    string Guard);

/// <summary>
/// Reads disclosures for the accounting: filters in SQL (the patient by its keyed hash, so the
/// query never needs a name), patient fields decrypted here, and the delivery outcome taken from
/// the newest event for that recipient's copy (or its pickup package).
/// </summary>
public sealed class AccountingExport(IAuditStore store, AuditKeys keys)
{
    /// <summary>Events that are not about the outcome of the delivery.</summary>
    private static readonly HashSet<string> NotOutcomes =
        [AuditEventTypes.CertificateFallback, AuditEventTypes.GuardHeld, AuditEventTypes.GuardFlagged, AuditEventTypes.GuardConfirmed];

    public async Task<IReadOnlyList<AccountingEntry>> QueryAsync(AccountingQuery query, CancellationToken cancellationToken)
    {
        var filter = new DisclosureFilter(query.Since, query.Until, query.Recipient,
            query.PatientId is { } patientId ? keys.PatientLookup(patientId) : null);
        IReadOnlyList<DisclosureRow> rows = await store.FindDisclosuresAsync(filter, cancellationToken);
        if (!query.IncludeGatewayMail && query.GatewaySenders is { Count: > 0 } own)
        {
            var senders = own.Select(a => a.Trim().ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
            rows = rows.Where(r => !senders.Contains(r.Sender.Trim().ToLowerInvariant())).ToList();
        }

        var events = await store.FindEventsAsync(rows.Select(r => r.QueueId).ToList(), rows.Select(r => r.Reference).OfType<string>().ToList(), cancellationToken);

        return rows.Select(r =>
        {
            var patients = Decrypt(r);
            // An accounting for one patient does not name the other patients of the same message.
            if (query.PatientId is { } id)
                patients = patients.Where(p => p.PatientId is not null && AuditKeys.NormalizePatientId(p.PatientId) == AuditKeys.NormalizePatientId(id)).ToList();
            var about = events.Where(e => IsAbout(e, r)).ToList();
            var outcome = about.Where(e => !NotOutcomes.Contains(e.Type)).MaxBy(e => e.Seq);
            return new AccountingEntry(
                DateTimeOffset.FromUnixTimeMilliseconds(r.RecordedAt),
                r.RecipientName ?? "",
                r.Recipient,
                PhiDescription.Render(r.PhiCount, r.PhiParts),
                r.Purpose ?? "",
                r.Action,
                outcome is null ? (r.Action == "Reject" ? "rejected" : "queued") : OutcomeText(outcome.Type),
                outcome is null ? null : DateTimeOffset.FromUnixTimeMilliseconds(outcome.RecordedAt),
                FirstAt(about, AuditEventTypes.Relayed),
                FirstAt(about, AuditEventTypes.PickupViewed, AuditEventTypes.PickupDownloaded),
                about.Count(e => e.Type == AuditEventTypes.PickupDownloaded),
                patients,
                r.RuleName,
                r.Sender,
                r.AuthenticatedUser,
                r.MessageId,
                r.QueueId,
                r.DeliveryId,
                r.Seq,
                GuardText(about));
        }).ToList();
    }

    private static readonly string[] GuardEventTypes =
    [
        AuditEventTypes.GuardHeld, AuditEventTypes.GuardFlagged, AuditEventTypes.GuardConfirmed, AuditEventTypes.GuardCancelled,
        AuditEventTypes.GuardExpired, AuditEventTypes.Recalled,
    ];

    /// <summary>The guard's decisions in the query's time range (and for its recipient, when given).</summary>
    public async Task<IReadOnlyList<GuardDecisionEntry>> GuardDecisionsAsync(AccountingQuery query, CancellationToken cancellationToken) =>
        (await store.FindEventsOfTypesAsync(GuardEventTypes, query.Since, query.Until, cancellationToken))
            .Where(e => query.Recipient is null || string.Equals(e.Recipient, query.Recipient, StringComparison.OrdinalIgnoreCase))
            .Select(e => new GuardDecisionEntry(DateTimeOffset.FromUnixTimeMilliseconds(e.RecordedAt), e.Type switch
            {
                AuditEventTypes.GuardHeld => "held",
                AuditEventTypes.GuardFlagged => "flagged",
                AuditEventTypes.GuardConfirmed => "confirmed",
                AuditEventTypes.GuardCancelled => "cancelled",
                AuditEventTypes.GuardExpired => "expired",
                _ => "recalled",
            }, e.QueueId ?? "", e.Recipient ?? "", e.Detail ?? "", e.Seq))
            .ToList();

    /// <summary>When the first event of one of these types was recorded ("first opened" is the first view or download).</summary>
    private static DateTimeOffset? FirstAt(IEnumerable<AuditEventRow> events, params string[] types) =>
        events.Where(e => types.Contains(e.Type)).MinBy(e => e.Seq) is { } first ? DateTimeOffset.FromUnixTimeMilliseconds(first.RecordedAt) : null;

    private static bool IsAbout(AuditEventRow e, DisclosureRow r)
    {
        var sameRecipient = e.Recipient is null || string.Equals(e.Recipient, r.Recipient, StringComparison.OrdinalIgnoreCase);
        if (!sameRecipient) return false;
        if (r.Reference is not null && e.PackageId == r.Reference) return true;
        return e.QueueId == r.QueueId && e.Recipient is not null && (e.DeliveryId is null || r.DeliveryId is null || e.DeliveryId == r.DeliveryId);
    }

    /// <summary>What the misdirection guard noted about this copy, oldest first ("flagged: …; held: …; confirmed …").</summary>
    private static string GuardText(IEnumerable<AuditEventRow> events) =>
        string.Join("; ", events.Where(e => e.Type is AuditEventTypes.GuardFlagged or AuditEventTypes.GuardHeld or AuditEventTypes.GuardConfirmed)
            .OrderBy(e => e.Seq)
            .Select(e => e.Type switch
            {
                AuditEventTypes.GuardFlagged => "flagged: ",
                AuditEventTypes.GuardHeld => "held: ",
                _ => "confirmed ",
            } + e.Detail));

    public static string OutcomeText(string type) => type switch
    {
        AuditEventTypes.Relayed => "relayed",
        AuditEventTypes.Deferred => "deferred",
        AuditEventTypes.Bounced => "bounced",
        AuditEventTypes.FellBack => "fell back (not sent directly)",
        AuditEventTypes.Rejected => "rejected",
        AuditEventTypes.PickupCodeSent => "pickup code sent",
        AuditEventTypes.PickupVerified => "pickup verified",
        AuditEventTypes.PickupViewed => "viewed",
        AuditEventTypes.PickupDownloaded => "downloaded",
        AuditEventTypes.PickupRevoked => "revoked",
        AuditEventTypes.PickupExpired => "expired",
        AuditEventTypes.Recalled => "recalled",
        _ => type,
    };

    private List<AuditPatient> Decrypt(DisclosureRow row)
    {
        if (row.PatientsEnc is null) return [];
        if (row.KeyId != keys.KeyId)
            throw new CryptographicException($"disclosure seq {row.Seq} was encrypted under master key {row.KeyId}, not the current {keys.KeyId}.");
        return JsonSerializer.Deserialize<List<AuditPatient>>(keys.Decrypt(row.PatientsEnc, row.QueueId)) ?? [];
    }
}
