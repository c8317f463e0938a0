namespace PhiMailGateway.Guard;

/// <summary>The guard's checks, each of which can hold or flag a recipient.</summary>
public enum GuardCheck
{
    Lookalike,
    NewRecipient,
    NewPatientRecipient,
    MixedAudience,

    /// <summary>Another recipient's copy was held, and its rule holds the whole message (<c>GuardHolds: Message</c>).</summary>
    WholeMessage,

    /// <summary>The recipient's rule says Hold (its action, or a TlsFirst rule's fallback once direct delivery could not verify the MX).</summary>
    RuleHold,
}

/// <summary>What the guard decided for one recipient.</summary>
public enum GuardOutcome
{
    Pass,
    Flag,
    Hold,
}

/// <param name="Text">For the sender, in plain words (names addresses and domains, never a patient or a file).</param>
/// <param name="Related">The known address or domain the reason compares with, for the audit; null when none.</param>
public sealed record GuardReason(GuardCheck Check, GuardAction Action, string Text, string? Related = null);

public sealed record GuardVerdict(string Recipient, IReadOnlyList<GuardReason> Reasons)
{
    public GuardOutcome Outcome =>
        Reasons.Any(r => r.Action == GuardAction.Hold) ? GuardOutcome.Hold
        : Reasons.Any(r => r.Action == GuardAction.Flag) ? GuardOutcome.Flag
        : GuardOutcome.Pass;
}

/// <summary>
/// One message as the guard sees it: the recipients its copies go to (not those a Reject rule
/// refused), the display names the sender's client wrote for them, and, per patient in the images
/// (by the audit's keyed hash of the PatientID), the addresses that received that patient before.
/// </summary>
public sealed record GuardSubject(
    IReadOnlyList<string> Recipients,
    IReadOnlyDictionary<string, string> RecipientNames,
    IReadOnlyDictionary<string, IReadOnlyList<string>> PatientRecipients);

/// <summary>
/// The misdirection checks of a message with dental images (a message without any is never
/// checked): look-alike, new recipient, new recipient for this patient, mixed audience. Pure: what
/// is known comes in as <see cref="GuardKnowledge"/>, so the same decision serves the pipeline and
/// <c>rules test</c>.
/// </summary>
public sealed class GuardChecks(GuardOptions options, IReadOnlyList<string> practiceDomains)
{
    /// <summary>Edits (typo, swapped letters) within which an unknown domain reads as a known one.</summary>
    public const int LookalikeDistance = 2;

    private readonly HashSet<string> _webmail = Normalized(options.WebmailDomains);
    private readonly HashSet<string> _practice = Normalized(practiceDomains);

    // Webmail and the practice's own domains: compared with every recipient, whatever the history holds.
    private readonly IReadOnlyList<string> _fixed = Normalized(options.WebmailDomains.Concat(practiceDomains)).Order(StringComparer.Ordinal).ToList();
    private readonly IReadOnlyDictionary<string, IReadOnlyList<string>> _fixedBySkeleton =
        DomainSimilarity.BySkeleton(Normalized(options.WebmailDomains.Concat(practiceDomains)));

    private static HashSet<string> Normalized(IEnumerable<string> domains) =>
        new(domains.Select(GuardAddress.NormalizeDomain).OfType<string>(), StringComparer.Ordinal);

    public IReadOnlyList<GuardVerdict> Check(GuardSubject subject, GuardKnowledge known)
    {
        var verdicts = new List<GuardVerdict>(subject.Recipients.Count);
        var mixed = MixedAudience(subject, known);
        foreach (var recipient in subject.Recipients)
        {
            var reasons = new List<GuardReason>();
            if (GuardAddress.Split(recipient) is not var (local, domain))
            {
                // Not an address the checks can read: it cannot be shown to be the intended one.
                if (options.Lookalike != GuardAction.Off)
                    reasons.Add(new GuardReason(GuardCheck.Lookalike, options.Lookalike, "is not an address the gateway can compare with the ones you send to"));
                verdicts.Add(new GuardVerdict(recipient, reasons));
                continue;
            }
            // Inside the practice: its own mailboxes are never a misdirection.
            if (_practice.Contains(domain))
            {
                verdicts.Add(new GuardVerdict(recipient, reasons));
                continue;
            }
            var addressKnown = known.IsKnownAddress(local, domain);
            if (options.Lookalike != GuardAction.Off && !addressKnown) Lookalike(local, domain, subject.RecipientNames.GetValueOrDefault(recipient), known, reasons);
            if (options.NewRecipient != GuardAction.Off && !addressKnown && !known.IsVouchedDomain(domain))
                reasons.Add(new GuardReason(GuardCheck.NewRecipient, options.NewRecipient, "has not received images from the practice before"));
            if (options.NewPatientRecipient != GuardAction.Off) NewForPatient(local + "@" + domain, subject, reasons);
            if (mixed.TryGetValue(recipient, out var mixedReason)) reasons.Add(mixedReason);
            verdicts.Add(new GuardVerdict(recipient, reasons));
        }
        return verdicts;
    }

    private void Lookalike(string local, string domain, string? displayName, GuardKnowledge known, List<GuardReason> reasons)
    {
        var action = options.Lookalike;
        var domainKnown = known.IsKnownDomain(domain) && !_webmail.Contains(domain);
        if (!domainKnown && !_webmail.Contains(domain) && SimilarDomain(domain, known) is { } similar)
        {
            reasons.Add(similar.Confusable
                ? new GuardReason(GuardCheck.Lookalike, action, $"uses letters that look like {similar.Domain}, which you have sent to before", similar.Domain)
                : new GuardReason(GuardCheck.Lookalike, action, $"looks like {similar.Domain}, which you have sent to before", similar.Domain));
            return;
        }
        if (!domainKnown && !GenericLocalParts.Contains(local)
            && known.AddressesWithLocalPart(local).FirstOrDefault(a => !a.EndsWith("@" + domain, StringComparison.Ordinal)) is { } sameName)
        {
            reasons.Add(new GuardReason(GuardCheck.Lookalike, action, $"is not {sameName}, the address with that name you have sent to before", sameName));
            return;
        }
        // A colleague at the same organisation may carry the organisation's name: only another domain counts.
        if (displayName is not null && known.AddressesNamed(displayName).FirstOrDefault(a => !a.EndsWith("@" + domain, StringComparison.Ordinal)) is { } named)
            reasons.Add(new GuardReason(GuardCheck.Lookalike, action, $"carries the name of {named}, a different address you have sent to before", named));
    }

    private (string Domain, bool Confusable)? SimilarDomain(string domain, GuardKnowledge known)
    {
        var skeleton = DomainSimilarity.Skeleton(domain);
        var confusable = known.DomainsWithSkeleton(skeleton).Concat(_fixedBySkeleton.GetValueOrDefault(skeleton) ?? [])
            .Where(d => d != domain).Order(StringComparer.Ordinal).FirstOrDefault();
        if (confusable is not null) return (confusable, true);
        (string Domain, int Distance)? closest = null;
        foreach (var candidate in known.KnownDomains.Concat(_fixed))
        {
            if (candidate == domain) continue;
            var distance = DomainSimilarity.Distance(domain, candidate, LookalikeDistance);
            if (distance <= LookalikeDistance && (closest is null || distance < closest.Value.Distance)) closest = (candidate, distance);
        }
        return closest is { } c ? (c.Domain, false) : null;
    }

    private void NewForPatient(string address, GuardSubject subject, List<GuardReason> reasons)
    {
        foreach (var (_, before) in subject.PatientRecipients.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (before.Count == 0 || before.Any(b => string.Equals(b, address, StringComparison.OrdinalIgnoreCase))) continue;
            var other = before.Order(StringComparer.OrdinalIgnoreCase).First();
            reasons.Add(new GuardReason(GuardCheck.NewPatientRecipient, options.NewPatientRecipient,
                $"has not received this patient's images before; {other} has", other));
            return;
        }
    }

    /// <summary>Per recipient, the mixed-audience reason: webmail next to a known partner, or too many recipients.</summary>
    private Dictionary<string, GuardReason> MixedAudience(GuardSubject subject, GuardKnowledge known)
    {
        var found = new Dictionary<string, GuardReason>(StringComparer.OrdinalIgnoreCase);
        if (options.MixedAudience == GuardAction.Off) return found;
        var outside = subject.Recipients.Where(r => GuardAddress.Split(r) is not var (_, d) || !_practice.Contains(d)).ToList();
        if (outside.Count > options.MaxRecipients)
        {
            foreach (var r in outside)
                found[r] = new GuardReason(GuardCheck.MixedAudience, options.MixedAudience, $"is one of {outside.Count} recipients of the same images");
            return found;
        }
        // A known address implies its domain is known, so the domain alone says "partner".
        var partner = outside.FirstOrDefault(r => GuardAddress.Split(r) is var (_, d) && !_webmail.Contains(d) && known.IsKnownDomain(d));
        if (partner is null) return found;
        foreach (var r in outside)
        {
            if (GuardAddress.Split(r) is var (_, d) && _webmail.Contains(d))
                found[r] = new GuardReason(GuardCheck.MixedAudience, options.MixedAudience,
                    $"is a personal mailbox ({d}) in a message that also goes to {partner}", partner);
        }
        return found;
    }

    /// <summary>Mailbox names many organisations share: the same one at another domain is no sign of a mistake.</summary>
    private static readonly HashSet<string> GenericLocalParts = new(StringComparer.Ordinal)
    {
        "info", "office", "admin", "contact", "mail", "email", "hello", "reception", "frontdesk", "front.desk", "support",
        "billing", "accounts", "referrals", "referral", "appointments", "scheduling", "records", "imaging", "xray", "xrays",
        "lab", "team", "staff", "dentist", "doctor", "noreply", "no-reply", "cases", "orders", "rx", "scans", "radiology", "clinic",
    };
}
